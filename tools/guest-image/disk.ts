// The bootable disk, made without mounting anything: an MBR partition table with one bootable
// Linux partition from 1 MiB on, the ext4 filesystem written into it straight from the tree
// (mkfs.ext4 -d at that offset), grub's boot sector (boot.img) in the MBR and its core image in
// the gap before the partition, as grub-install would place them for a BIOS boot; then qcow2.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { runLogged } from './chroot.js';

const SECTOR = 512;
/** The partition starts at 1 MiB: the sectors before it hold the MBR and grub's core image. */
export const PARTITION_START_LBA = 2048;

/** The MBR: grub's boot code (the first 440 bytes of boot.img), one bootable Linux partition, the signature. */
export function masterBootRecord(bootImg: Buffer, startLba: number, sectors: number): Buffer {
  if (bootImg.length !== SECTOR) throw new Error(`grub's boot.img should be ${SECTOR} bytes, it is ${bootImg.length}`);
  const mbr = Buffer.alloc(SECTOR);
  bootImg.copy(mbr, 0, 0, 440);
  const entry = 446;
  mbr[entry] = 0x80; // bootable
  mbr.set([0xfe, 0xff, 0xff], entry + 1); // CHS start: past what CHS can say, use the LBA
  mbr[entry + 4] = 0x83; // Linux
  mbr.set([0xfe, 0xff, 0xff], entry + 5); // CHS end
  mbr.writeUInt32LE(startLba, entry + 8);
  mbr.writeUInt32LE(sectors, entry + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

export async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface DiskOptions {
  /** the finished tree (grub's boot.img and core image inside: usr/lib/grub/i386-pc/boot.img, boot/grub/core.img) */
  root: string;
  rootUuid: string;
  /** the disk's size (its virtual size as an image) */
  sizeBytes: number;
  workDir: string;
  out: string;
  compress: boolean;
  qemuImg: string;
  logFile: string;
}

/** Writes the qcow2 image `out`; returns its virtual size. */
export async function makeDisk(o: DiskOptions): Promise<{ virtualBytes: number }> {
  const raw = path.join(o.workDir, 'disk.raw');
  writeFileSync(raw, '');
  const offset = PARTITION_START_LBA * SECTOR;
  const fsBytes = Math.floor((o.sizeBytes - offset) / (1024 * 1024)) * 1024 * 1024;
  truncateSync(raw, offset + fsBytes);
  // bookworm's grub (2.06) reads ext4 without the two features e2fsprogs 1.47 may add
  await runLogged(
    'mkfs.ext4',
    [
      '-q',
      '-F',
      '-L',
      'trove-root',
      '-U',
      o.rootUuid,
      '-O',
      '^metadata_csum_seed,^orphan_file',
      '-m',
      '1',
      '-E',
      `offset=${offset}`,
      '-d',
      o.root,
      raw,
      `${fsBytes / 1024}k`,
    ],
    o.logFile,
  );
  const core = readFileSync(path.join(o.root, 'boot/grub/core.img'));
  if (core.length > offset - SECTOR) throw new Error(`grub's core image (${core.length} bytes) does not fit before the partition`);
  const fd = openSync(raw, 'r+');
  try {
    writeSync(fd, masterBootRecord(readFileSync(path.join(o.root, 'usr/lib/grub/i386-pc/boot.img')), PARTITION_START_LBA, fsBytes / SECTOR), 0, SECTOR, 0);
    writeSync(fd, core, 0, core.length, SECTOR);
  } finally {
    closeSync(fd);
  }
  const part = `${o.out}.part`;
  await runLogged(o.qemuImg, ['convert', '-q', '-f', 'raw', '-O', 'qcow2', ...(o.compress ? ['-c'] : []), '-o', 'compat=1.1', raw, part], o.logFile);
  renameSync(part, o.out);
  const virtualBytes = statSync(raw).size;
  rmSync(raw, { force: true });
  return { virtualBytes };
}

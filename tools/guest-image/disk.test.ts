// The image's MBR, as a BIOS and grub read it: grub's boot code, one bootable Linux partition
// from 1 MiB on (LBA fields; CHS marked beyond reach), the 0x55AA signature.
import test from 'ava';
import { masterBootRecord, PARTITION_START_LBA } from './disk.js';

test('boot code, one bootable Linux partition by LBA, the signature', (t) => {
  const boot = Buffer.alloc(512, 0xeb);
  const sectors = (4 * 1024 ** 3 - 1024 ** 2) / 512;
  const mbr = masterBootRecord(boot, PARTITION_START_LBA, sectors);
  t.is(mbr.length, 512);
  t.true(mbr.subarray(0, 440).equals(boot.subarray(0, 440)));
  t.true(mbr.subarray(440, 446).equals(Buffer.alloc(6)), 'no disk signature needed');
  const e = mbr.subarray(446, 462);
  t.is(e[0], 0x80);
  t.is(e[4], 0x83);
  t.is(e.readUInt32LE(8), 2048);
  t.is(e.readUInt32LE(12), sectors);
  t.true(mbr.subarray(462, 510).equals(Buffer.alloc(48)), 'the three other entries are empty');
  t.is(mbr.readUInt16LE(510), 0xaa55);
});

test('a boot.img that is not one sector is refused', (t) => {
  t.throws(() => masterBootRecord(Buffer.alloc(440), 2048, 100), { message: /should be 512 bytes/ });
});

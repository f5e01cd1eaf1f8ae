// The data volume (the instance's Cinder volume, or the qemu driver's qcow2 file): given an ext4
// filesystem the first time (a blank device only: one with any filesystem or partition table
// is never formatted), mounted where the agent's engines keep their data, grown to the device's
// size at every boot (a resized volume).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { CONFIG_DRIVE_LABEL } from './config-drive.js';

const run = promisify(execFile);

export const DATA_LABEL = 'trove-data';

/** blkid's view of the device: its filesystem type and label, or none (blank). */
async function probe(device: string): Promise<{ type?: string; label?: string; pttype?: string }> {
  try {
    const { stdout } = await run('blkid', ['-p', '-o', 'export', device], { timeout: 30_000 });
    const v = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    return { type: v.TYPE, label: v.LABEL, pttype: v.PTTYPE };
  } catch (err) {
    // blkid -p exits 2 when it finds nothing on the device
    if ((err as { code?: unknown }).code === 2) return {};
    throw err;
  }
}

const mounted = (mountPoint: string): boolean =>
  readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === mountPoint);

/** What happened, for the boot log; `undefined` device: no volume attached (the data stays on the root disk). */
export async function prepareDataVolume(device: string, mountPoint: string): Promise<string> {
  if (!existsSync(device)) return `no data volume at ${device}: the data stays on the root disk`;
  mkdirSync(mountPoint, { recursive: true, mode: 0o755 });
  if (mounted(mountPoint)) return `${mountPoint} is already mounted`;
  const found = await probe(device);
  if (found.label === CONFIG_DRIVE_LABEL) return `${device} is the config drive, not a data volume`;
  let formatted = false;
  if (!found.type && !found.pttype) {
    await run('mkfs.ext4', ['-q', '-L', DATA_LABEL, '-m', '0', device], { timeout: 600_000 });
    formatted = true;
  } else if (found.type !== 'ext4') {
    throw new Error(
      `the data volume ${device} holds ${found.type ? `a ${found.type} filesystem` : `a ${found.pttype} partition table`}, not ext4: not mounted`,
    );
  }
  await run('mount', ['-o', 'noatime', device, mountPoint], { timeout: 120_000 });
  // a volume resized while the guest was down: the filesystem takes the new size (online grow)
  if (!formatted) await run('resize2fs', [device], { timeout: 600_000 }).catch(() => undefined);
  return `${formatted ? 'formatted and mounted' : 'mounted'} ${device} on ${mountPoint}`;
}

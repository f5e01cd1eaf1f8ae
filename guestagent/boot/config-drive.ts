// The config drive (an ISO 9660 or vfat filesystem labelled config-2, as Nova and the qemu compute
// driver attach it): found by its label, mounted read-only for as long as it takes to read the
// user_data, then unmounted.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const CONFIG_DRIVE_LABEL = 'config-2';

/** The device labelled config-2, waiting up to `waitMs` for udev to show it; undefined: there is none. */
export async function findConfigDrive(waitMs: number): Promise<string | undefined> {
  for (const until = Date.now() + waitMs; ;) {
    const byLabel = `/dev/disk/by-label/${CONFIG_DRIVE_LABEL}`;
    if (existsSync(byLabel)) return byLabel;
    const found = await run('blkid', ['-t', `LABEL=${CONFIG_DRIVE_LABEL}`, '-o', 'device'], { timeout: 30_000 }).then(
      (r) => r.stdout.trim().split('\n')[0] || undefined,
      () => undefined,
    );
    if (found) return found;
    if (Date.now() > until) return undefined;
    await sleep(1000);
  }
}

export interface ConfigDrive {
  /** openstack/latest/user_data, if there is one */
  userData?: string;
  /** openstack/latest/meta_data.json */
  metaData: Record<string, unknown>;
}

/** Reads what the guest needs from the drive at `device`. */
export async function readConfigDrive(device: string): Promise<ConfigDrive> {
  const mnt = mkdtempSync(path.join(tmpdir(), 'config-drive-'));
  try {
    await run('mount', ['-o', 'ro', device, mnt], { timeout: 60_000 });
    try {
      const dir = path.join(mnt, 'openstack', 'latest');
      const file = (name: string) => (existsSync(path.join(dir, name)) ? readFileSync(path.join(dir, name), 'utf8') : undefined);
      const meta = file('meta_data.json');
      return { userData: file('user_data'), metaData: meta ? (JSON.parse(meta) as Record<string, unknown>) : {} };
    } finally {
      await run('umount', [mnt], { timeout: 60_000 });
    }
  } finally {
    rmSync(mnt, { recursive: true, force: true });
  }
}

// The data volume: usage of the filesystem under the data directory, in Trove's shape (GB).
import { statfs } from 'node:fs/promises';
import type { FsStats } from '../capabilities.js';

const GB = 1024 ** 3;
const round = (n: number) => Math.round(n * 100) / 100;

export async function filesystemStats(path: string): Promise<FsStats> {
  const s = await statfs(path);
  const total = s.blocks * s.bsize;
  const free = s.bavail * s.bsize;
  return {
    block_size: s.bsize,
    total_blocks: s.blocks,
    free_blocks: s.bavail,
    total: round(total / GB),
    free: round(free / GB),
    used: round((total - free) / GB),
  };
}

/** Disk usage of one directory tree, bytes (the local "volume" of an all-in-one instance). */
export async function directoryBytes(dir: string): Promise<number> {
  const { readdir, lstat } = await import('node:fs/promises');
  const path = await import('node:path');
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else total += (await lstat(p).catch(() => ({ blocks: 0 }))).blocks * 512;
    }
  }
  return total;
}

// A data directory with a size (an all-in-one "volume"): usage measured against it, in Trove's
// filesystem-stats shape, so a full directory is reported and enforced like a full volume.
import { existsSync, readFileSync } from 'node:fs';
import type { FsStats } from '../capabilities.js';
import { directoryBytes } from './volume.js';

const round = (n: number) => Math.round(n * 1000) / 1000;

export class VolumeQuota {
  constructor(
    private readonly dir: string,
    private readonly sizeFile: string,
    private readonly unitBytes: number,
  ) {}

  private sizeBytes(): number {
    if (!existsSync(this.sizeFile)) return Number.POSITIVE_INFINITY;
    return (JSON.parse(readFileSync(this.sizeFile, 'utf8')) as { size: number }).size * this.unitBytes;
  }

  async stats(): Promise<FsStats & { full: boolean }> {
    const total = this.sizeBytes();
    const used = await directoryBytes(this.dir);
    const block = 4096;
    return {
      block_size: block,
      total_blocks: Math.floor(total / block),
      free_blocks: Math.max(0, Math.floor((total - used) / block)),
      total: round(total / this.unitBytes),
      free: round(Math.max(0, total - used) / this.unitBytes),
      used: round(used / this.unitBytes),
      full: used >= total,
    };
  }
}

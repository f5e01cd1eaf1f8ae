// Installing a restored copy in place of a server's data directory: the old directory is set aside
// (renamed, not copied: the staging directory sits on the same volume), put back if the new one
// cannot be completed, and removed once it is.
import { existsSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';

/**
 * Renames `staged` to `dataDir`, then `finish(previous)` completes it (ownership, the instance's
 * own files copied from the old directory at `previous`, undefined when there was none). Should
 * that throw, the new directory goes and the old one is back where it was; otherwise the old one
 * is removed.
 */
export async function swapDataDir(dataDir: string, staged: string, finish: (previous: string | undefined) => Promise<void>): Promise<void> {
  const replaced = `${dataDir}.replaced-${Date.now()}`;
  const had = existsSync(dataDir);
  if (had) renameSync(dataDir, replaced);
  try {
    renameSync(staged, dataDir);
    await finish(had ? replaced : undefined);
  } catch (e) {
    await rm(dataDir, { recursive: true, force: true });
    if (had) renameSync(replaced, dataDir);
    throw e;
  }
  if (had) await rm(replaced, { recursive: true, force: true });
}

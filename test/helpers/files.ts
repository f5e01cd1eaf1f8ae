// Lists the files under a directory that a running engine or guest may be writing to (temp files
// come and go while it is read): an entry gone between the listing and its stat is skipped, not an error.
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Relative paths of the regular files under `dir` (recursive); [] when `dir` does not exist. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    let entries;
    try {
      entries = readdirSync(path.join(dir, rel), { withFileTypes: true }); // types from the listing: no stat of an entry that may be gone
    } catch (err) {
      if (gone(err)) return;
      throw err;
    }
    for (const e of entries) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r); // sockets, pipes and links are not files here
    }
  };
  walk('');
  return out;
}

const gone = (err: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

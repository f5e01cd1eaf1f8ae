// The directory of the project's package.json (where bin/, etc/ and migrations/ are), found from
// any module: the sources' (src/cmd/x.ts) and the compiled tree's (dist/src/cmd/x.js) alike, since
// dist/ has no package.json of its own.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory holding a package.json at or above the module `moduleUrl` (its import.meta.url). */
export function packageRoot(moduleUrl: string): string {
  const from = path.dirname(fileURLToPath(moduleUrl));
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json at or above ${from}`);
  }
}

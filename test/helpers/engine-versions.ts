// The side-by-side engine builds tools/lab/engine-versions.sh unpacks (test/run-all.sh runs it):
// where they are, or a failure saying how to get them.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const ENGINE_VERSIONS_DIR = process.env.TROVE_ENGINE_VERSIONS_DIR ?? '/var/lib/trove-ts-lab/engine-versions';

/** The directory of an unpacked build named `<engine>-<version>` (e.g. mariadb-10.11.18): the newest of that engine when no version is given. */
export function engineBuild(engine: string, version?: string): { dir: string; version: string } {
  const names = existsSync(ENGINE_VERSIONS_DIR) ? readdirSync(ENGINE_VERSIONS_DIR).filter((n) => n.startsWith(`${engine}-`) && !n.endsWith('.tmp')) : [];
  const name = version ? names.find((n) => n === `${engine}-${version}`) : names.sort().at(-1);
  if (!name)
    throw new Error(`no ${engine}${version ? ` ${version}` : ''} build in ${ENGINE_VERSIONS_DIR}: run tools/lab/engine-versions.sh (test/run-all.sh does)`);
  return { dir: path.join(ENGINE_VERSIONS_DIR, name), version: name.slice(engine.length + 1) };
}

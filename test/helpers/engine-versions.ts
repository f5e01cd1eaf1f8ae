// The side-by-side engine builds tools/lab/engine-versions.sh unpacks (test/run-all.sh runs it):
// where they are, or a failure saying how to get them.
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAio, type Aio } from './all-in-one.js';
import { freePort } from './api-process.js';

export const ENGINE_VERSIONS_DIR = process.env.TROVE_ENGINE_VERSIONS_DIR ?? '/var/lib/trove-ts-lab/engine-versions';

/** The directory of an unpacked build named `<engine>-<version>` (e.g. mariadb-10.11.18): the newest of that engine when no version is given. */
export function engineBuild(engine: string, version?: string): { dir: string; version: string } {
  const names = existsSync(ENGINE_VERSIONS_DIR) ? readdirSync(ENGINE_VERSIONS_DIR).filter((n) => n.startsWith(`${engine}-`) && !n.endsWith('.tmp')) : [];
  const name = version ? names.find((n) => n === `${engine}-${version}`) : names.sort().at(-1);
  if (!name)
    throw new Error(`no ${engine}${version ? ` ${version}` : ''} build in ${ENGINE_VERSIONS_DIR}: run tools/lab/engine-versions.sh (test/run-all.sh does)`);
  return { dir: path.join(ENGINE_VERSIONS_DIR, name), version: name.slice(engine.length + 1) };
}

/**
 * A build under `root` that reports `versionLine` to `--version` and cannot start: its server
 * program (`bin`, e.g. usr/bin/redis-server) writes `errorLine`, the engine's own words, to its
 * standard output or error, and exits 1. For the rollback cases of the upgrade tests.
 */
export function failingBuild(root: string, bin: string, o: { versionLine: string; errorLine: string; stderr?: boolean }): void {
  const file = path.join(root, bin);
  mkdirSync(path.dirname(file), { recursive: true });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    '#!/bin/sh',
    `case "$*" in *--version*) echo ${q(o.versionLine)}; exit 0;; esac`,
    `echo ${q(o.errorLine)}${o.stderr ? ' >&2' : ''}`,
    'exit 1',
    '',
  ];
  writeFileSync(file, script.join('\n'), { mode: 0o755 });
  for (let d = path.dirname(file); d.startsWith(root); d = path.dirname(d)) chmodSync(d, 0o755);
}

/**
 * An all-in-one on `state` whose guests read `guestConfig` (the builds side by side: `[<engine>]
 * version_dirs`), through `[local] guest_config_file`; `files` lists what to remove after.
 */
export async function aioWithBuilds(state: string, guestConfig: string): Promise<{ aio: Aio; files: string[] }> {
  const guestConf = `${state}.guest.conf`;
  writeFileSync(guestConf, guestConfig);
  const conf = `${state}.aio.conf`;
  writeFileSync(conf, `[local]\nguest_config_file = ${guestConf}\n`);
  return { aio: await startAio(state, await freePort(), [conf]), files: [guestConf, conf, `${state}.subnet.conf`] };
}

#!/usr/bin/env node
// Compiles the services into dist/ (tsc -p tsconfig.build.json) when dist/ is missing or older
// than the sources: `npm start` runs it before the service, and so do test/run-all.sh and the test
// helpers that spawn our processes; `npm run build` (--force) always compiles. Plain JavaScript:
// it runs before anything is compiled, without tsx.
//
// The check is quick (no compiler): every source file's path, size and mtime, hashed, against the
// hash dist/ was built from (dist/.sources); a changed, added or removed file is a rebuild. tsc
// compiles without type-checking (--noCheck: `npm run typecheck` and `npm test` check the types)
// into .dist-next-<pid>/, which replaces dist/ once it is complete, so a failed or interrupted
// build leaves the last good dist/ and no file of a deleted source stays behind. One build runs at
// a time (.dist-lock holds its pid): a second caller waits for it and then finds dist/ fresh.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DIST = path.join(ROOT, 'dist');
const CONFIG = 'tsconfig.build.json';
const STAMP = path.join(DIST, '.sources');
const LOCK = path.join(ROOT, '.dist-lock');
/** Files besides the sources whose change changes the output. */
const INPUTS = ['tsconfig.json', CONFIG, 'package.json', 'tools/build/build.js'];

/** Every non-test TypeScript file under the build's include directories, relative to the root. */
function sources() {
  const { include } = JSON.parse(readFileSync(path.join(ROOT, CONFIG), 'utf8'));
  const out = [];
  const walk = (rel) => {
    for (const e of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) walk(child);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(child);
    }
  };
  for (const dir of include) walk(dir);
  return out;
}

/** A hash of every source's and input's path, size and mtime. */
export function fingerprint() {
  const h = createHash('sha256');
  for (const rel of [...INPUTS, ...sources()].sort()) {
    const s = statSync(path.join(ROOT, rel));
    h.update(`${rel}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return h.digest('hex');
}

/** dist/ was built from the sources as they are now. */
export function isFresh() {
  return existsSync(STAMP) && readFileSync(STAMP, 'utf8') === fingerprint();
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Takes the build lock (waiting while another live process holds it); returns its release. */
function lock(waitMs = 15 * 60_000) {
  for (const until = Date.now() + waitMs; ;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(LOCK, { force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let holder;
    try {
      holder = Number(readFileSync(LOCK, 'utf8') || 0);
    } catch (err) {
      if (err.code === 'ENOENT') continue; // released meanwhile
      throw err;
    }
    if (holder && !alive(holder))
      rmSync(LOCK, { force: true }); // its builder is gone
    else if (Date.now() > until) throw new Error(`another build (pid ${holder}) still holds ${LOCK}`);
    else sleep(200);
  }
}

/** What tsc is: TypeScript is a devDependency (npm ci installs it). */
function tscPath() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('dist/ must be built and TypeScript is not installed: run npm ci (it installs the devDependencies)');
  }
}

/**
 * Builds dist/ when it is stale (or always, with `force`). Returns whether it built; throws with
 * tsc's output when the compile fails (dist/ is then left as it was).
 */
export function build({ force = false, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  if (!force && isFresh()) return false;
  const release = lock();
  try {
    if (!force && isFresh()) return false; // built by the holder we waited for
    // removed by the builder that made them, unless it was killed: then here
    for (const f of readdirSync(ROOT)) {
      const pid = /^\.dist-(?:next|old)-(\d+)$/.exec(f)?.[1];
      if (pid && !alive(Number(pid))) rmSync(path.join(ROOT, f), { recursive: true, force: true });
    }
    const started = Date.now();
    const stamp = fingerprint(); // before compiling: a source edited meanwhile makes the next check stale
    log(`trove-ts: compiling the sources into dist/ (${existsSync(STAMP) ? 'the sources changed' : 'no build yet'}) ...`);
    // beside dist/, at its depth: the source maps' relative paths stay right after the rename
    const next = path.join(ROOT, `.dist-next-${process.pid}`);
    const tsc = spawnSync(process.execPath, [tscPath(), '-p', CONFIG, '--noCheck', '--outDir', next], { cwd: ROOT, encoding: 'utf8' });
    if (tsc.status !== 0) {
      rmSync(next, { recursive: true, force: true });
      throw new Error(`tsc -p ${CONFIG} failed (${tsc.status ?? tsc.signal}): ${tsc.stdout}${tsc.stderr}${tsc.error?.message ?? ''}`);
    }
    writeFileSync(path.join(next, '.sources'), stamp);
    const old = path.join(ROOT, `.dist-old-${process.pid}`);
    if (existsSync(DIST)) renameSync(DIST, old);
    renameSync(next, DIST);
    rmSync(old, { recursive: true, force: true });
    log(`trove-ts: dist/ built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  } finally {
    release();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !['--force', '--check'].includes(a));
  if (unknown.length) {
    process.stderr.write(`usage: node tools/build/build.js [--force | --check]  (unknown: ${unknown.join(' ')})\n`);
    process.exit(2);
  }
  try {
    if (args.includes('--check')) process.exit(isFresh() ? 0 : 1);
    build({ force: args.includes('--force') });
  } catch (err) {
    process.stderr.write(`trove-ts build: ${err.message}\n`);
    process.exit(1);
  }
}

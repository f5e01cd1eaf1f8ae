// The guest image the VM tier boots, made by the project's own builder (trove-manage
// guest_image_build) into TROVE_TEST_IMAGE_DIR (default .state/images of the repository; its
// cache/ keeps the base system and engine trees between runs). Test files that run at the same
// time build it once: the builds take a lock, so the second finds it up to date.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { imageIdFor, readManifest, writeManifest, type ImageManifest } from '../../src/clients/qemu/images.js';
import { killOnExit } from './reap.js';
import { REPO } from './run-bin.js';
import { testSetting } from './settings.js';

export const IMAGE_DIR = path.resolve(testSetting('TROVE_TEST_IMAGE_DIR', path.join(REPO, '.state/images')));

export interface BuildRun {
  code: number | null;
  output: string;
  seconds: number;
}

/** trove-manage guest_image_build <datastore> <args> with IMAGE_DIR's cache, under the cache's lock; each output line to `log`. */
export function runImageBuild(datastore: string, args: string[], log: (line: string) => void, imageDir = IMAGE_DIR): Promise<BuildRun> {
  const cacheDir = path.join(IMAGE_DIR, 'cache');
  mkdirSync(cacheDir, { recursive: true });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = killOnExit(
      spawn(
        'flock',
        [
          path.join(cacheDir, '.build.lock'),
          process.execPath,
          `${REPO}bin/trove-manage.js`,
          'guest_image_build',
          datastore,
          '--image-dir',
          imageDir,
          '--cache-dir',
          cacheDir,
          ...args,
        ],
        {
          cwd: REPO,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    let output = '';
    let partial = '';
    const take = (d: Buffer) => {
      output += d;
      const lines = (partial + String(d)).split('\n');
      partial = lines.pop()!;
      for (const l of lines) log(l);
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial) log(partial);
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** The mariadb image, built or found up to date; fails the test when the builder fails. */
export async function ensureImage(
  t: { timeout(ms: number): void; log(...values: unknown[]): void },
  datastore = 'mariadb',
): Promise<ImageManifest & { buildRun: BuildRun }> {
  t.timeout(60 * 60_000); // a first build downloads Debian's base system and the engine
  const r = await runImageBuild(datastore, [], (line) => t.log(line));
  if (r.code !== 0) throw new Error(`trove-manage guest_image_build ${datastore} failed (exit ${r.code}):\n${r.output.slice(-3000)}`);
  const m = readManifest(IMAGE_DIR, datastore);
  if (!m) throw new Error(`the build wrote no manifest in ${IMAGE_DIR}`);
  return { ...m, buildRun: r };
}

/** An image with nothing bootable on it (a blank 1 GB qcow2 and its manifest) in `dir`: the firmware never finds a boot sector. Returns its id. */
export function blankImage(dir: string, manager = 'mariadb'): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, 'blank.qcow2'), '1G']);
  const sha256 = '0'.repeat(64);
  const id = imageIdFor(sha256);
  writeManifest(dir, {
    id,
    datastore: 'blank',
    manager,
    version: '10.11',
    engine_version: '10.11.0',
    file: 'blank.qcow2',
    sha256,
    bytes: 0,
    virtual_bytes: 1024 ** 3,
    built_at: new Date().toISOString(),
    inputs: '',
  });
  return id;
}

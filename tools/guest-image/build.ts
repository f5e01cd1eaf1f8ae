// Builds a datastore's guest image: the cached base and engine trees (rootfs.ts), the agent
// bundle and Node.js laid out in it (layout.ts), checked by the agent itself (the engine must be
// there: an image without it is refused), made a bootable qcow2 (disk.ts), described by its
// manifest (src/clients/qemu/images.ts). A re-run whose inputs did not change reuses the image.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { imageIdFor, readManifest, writeManifest, type ImageManifest } from '../../src/clients/qemu/images.js';
import { UsageError } from '../trove-manage/context.js';
import { bundleAgent } from './agent-bundle.js';
import { inChroot, removeTree, restoreTree } from './chroot.js';
import { makeDisk, sha256Of } from './disk.js';
import { ENABLED_UNITS, layOut } from './layout.js';
import { readRecipe } from './recipe.js';
import { baseStage, engineStage, hashOf } from './rootfs.js';

const run = promisify(execFile);

/** Bumped when what the builder lays out or how it makes the disk changes. */
const LAYOUT = 2;

export interface BuildOptions {
  repo: string;
  datastore: string;
  /** another recipe than etc/datastores/<datastore>/image.json */
  recipeFile?: string;
  outDir: string;
  cacheDir: string;
  suite: string;
  mirror: string;
  securityMirror: string;
  /** the Node.js binary the image carries (20 or later, linked against what Debian's base has) */
  nodeBin: string;
  sizeGb: number;
  compress: boolean;
  qemuImg: string;
  say(line: string): void;
}

export interface BuildResult {
  manifest: ImageManifest;
  path: string;
  reused: boolean;
  seconds: { total: number; base: number; engine: number; image: number };
}

interface Detected {
  manager: string;
  version: string;
  name: string;
}

async function checkTools(o: BuildOptions): Promise<void> {
  if (process.getuid?.() !== 0) throw new UsageError('Building a guest image needs root (debootstrap, chroot, device files in the tree).');
  for (const bin of ['debootstrap', 'unshare', 'mkfs.ext4', 'tar', o.qemuImg]) {
    await run('sh', ['-c', `command -v "$0"`, bin]).catch(() => {
      throw new UsageError(`${bin} is not installed (bash tools/lab/vm.sh installs what image builds need).`);
    });
  }
  const { stdout } = await run(o.nodeBin, ['--version']).catch(() => ({ stdout: '' }));
  const major = Number(/^v(\d+)\./.exec(stdout.trim())?.[1] ?? 0);
  if (major < 20) throw new UsageError(`${o.nodeBin} is not Node.js 20 or later (${stdout.trim() || 'it does not run'}): the agent needs it.`);
}

/** What the agent finds in the tree: its own --detect-engines, run there with the image's Node.js. */
async function detectIn(root: string, logFile: string): Promise<Detected[]> {
  const out = path.join(root, 'root/trove-detected.json');
  rmSync(out, { force: true });
  await inChroot(root, ['sh', '-c', '/usr/local/bin/node /opt/trove-guestagent/trove-guestagent.mjs --detect-engines > /root/trove-detected.json'], logFile);
  const found = JSON.parse(readFileSync(out, 'utf8')) as Detected[];
  rmSync(out, { force: true });
  return found;
}

/** Work trees of builds that are gone (killed): removed before this one starts. */
async function removeStaleWork(cacheDir: string, logFile: string): Promise<void> {
  for (const name of readdirSync(cacheDir)) {
    const pid = Number(/^work-.+-(\d+)$/.exec(name)?.[1] ?? 0);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      await removeTree(path.join(cacheDir, name), logFile);
    }
  }
}

export async function buildImage(o: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const { recipe, file: recipeFile } = readRecipe(o.repo, o.datastore, o.recipeFile);
  await checkTools(o);
  mkdirSync(o.outDir, { recursive: true });
  mkdirSync(o.cacheDir, { recursive: true });
  const logFile = path.join(o.cacheDir, `build-${o.datastore}.log`);
  rmSync(logFile, { force: true });
  await removeStaleWork(o.cacheDir, logFile);
  // a work tree of this build's own (another build may run beside it on the same cache)
  const workDir = path.join(o.cacheDir, `work-${o.datastore}-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  try {
    o.say(`building the ${o.datastore} guest image (log: ${logFile})`);
    const stageOptions = { cacheDir: o.cacheDir, workDir, suite: o.suite, mirror: o.mirror, securityMirror: o.securityMirror, logFile, say: o.say };
    const base = await baseStage(stageOptions);
    o.say(base.reused ? `base system: reused ${path.basename(base.tar)}` : `base system: ${base.seconds.toFixed(0)} s`);
    const engine = await engineStage(stageOptions, base, o.datastore, recipe, recipeFile);
    o.say(engine.reused ? `engine packages: reused ${path.basename(engine.tar)}` : `engine packages: ${engine.seconds.toFixed(0)} s`);
    const bundle = await bundleAgent(o.repo, o.cacheDir);
    const inputs = hashOf(LAYOUT, engine.key, bundle.hash, await sha256Of(o.nodeBin), o.sizeGb, o.compress);
    const out = path.join(o.outDir, `${o.datastore}.qcow2`);
    const previous = readManifest(o.outDir, o.datastore);
    const seconds = (since: number) => (Date.now() - since) / 1000;
    const stageSeconds = { base: base.seconds, engine: engine.seconds };
    if (previous?.inputs === inputs && existsSync(out) && statSync(out).size === previous.bytes) {
      return { manifest: previous, path: out, reused: true, seconds: { total: seconds(started), ...stageSeconds, image: 0 } };
    }
    const imageStarted = Date.now();
    const manifest = await assemble(o, {
      engineTar: engine.tar,
      agentDir: bundle.dir,
      inputs,
      manager: recipe.manager ?? o.datastore,
      recipeFile,
      workDir,
      out,
      logFile,
    });
    return { manifest, path: out, reused: false, seconds: { total: seconds(started), ...stageSeconds, image: seconds(imageStarted) } };
  } finally {
    await removeTree(workDir, logFile);
  }
}

/** The engine's tree made the guest, checked by its own agent, written as the qcow2 `out` and its manifest. */
async function assemble(
  o: BuildOptions,
  a: { engineTar: string; agentDir: string; inputs: string; manager: string; recipeFile: string; workDir: string; out: string; logFile: string },
): Promise<ImageManifest> {
  const root = path.join(a.workDir, 'image');
  mkdirSync(root, { recursive: true });
  await restoreTree(a.engineTar, root, a.logFile);
  const rootUuid = imageIdFor(a.inputs);
  layOut(root, { rootUuid, agentDir: a.agentDir, nodeBin: o.nodeBin });
  await inChroot(root, ['systemctl', 'enable', ...ENABLED_UNITS], a.logFile);
  const found = await detectIn(root, a.logFile);
  const engineFound = found.find((e) => e.manager === a.manager);
  if (!engineFound) {
    throw new UsageError(
      `The image has no ${a.manager} engine: its guest agent found ${found.length ? found.map((e) => `${e.manager} ${e.version}`).join(', ') : 'none'} ` +
        `(the recipe ${a.recipeFile} must install it). No image was written.`,
    );
  }
  o.say(`the agent finds ${engineFound.manager} ${engineFound.version} in the image`);
  await inChroot(
    root,
    ['grub-mkimage', '-O', 'i386-pc', '-o', '/boot/grub/core.img', '-p', '(hd0,msdos1)/boot/grub', 'biosdisk', 'part_msdos', 'ext2'],
    a.logFile,
  );
  const { virtualBytes } = await makeDisk({
    root,
    rootUuid,
    sizeBytes: o.sizeGb * 1024 ** 3,
    workDir: a.workDir,
    out: a.out,
    compress: o.compress,
    qemuImg: o.qemuImg,
    logFile: a.logFile,
  });
  const sha256 = await sha256Of(a.out);
  const manifest: ImageManifest = {
    id: imageIdFor(sha256),
    datastore: o.datastore,
    manager: a.manager,
    version: engineFound.name,
    engine_version: engineFound.version,
    file: path.basename(a.out),
    sha256,
    bytes: statSync(a.out).size,
    virtual_bytes: virtualBytes,
    built_at: new Date().toISOString(),
    inputs: a.inputs,
  };
  writeManifest(o.outDir, manifest);
  return manifest;
}

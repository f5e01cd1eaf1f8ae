// The image's root tree in two cached stages: Debian's base system (debootstrap of the suite with
// BASE_PACKAGES: the same for every datastore), then the datastore's engine packages on top.
// Each stage is a tar file in the cache named after the hash of what made it: a re-run whose
// inputs did not change restores the tar instead of downloading and installing again.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inChroot, removeTree, restoreTree, saveTree, unshared } from './chroot.js';
import { BASE_PACKAGES, type Recipe } from './recipe.js';

/** Bumped when a stage's steps change, so that caches made by older steps are not reused. */
const BASE_STAGE = 1;
const ENGINE_STAGE = 3;

export interface StageOptions {
  cacheDir: string;
  workDir: string;
  suite: string;
  mirror: string;
  securityMirror: string;
  logFile: string;
  say(line: string): void;
}

export interface Stage {
  key: string;
  tar: string;
  reused: boolean;
  seconds: number;
}

const KEEP_NEWEST_KERNEL = `newest=$(ls /boot | sed -n 's/^vmlinuz-//p' | sort -V | tail -1)
for p in $(dpkg-query -W -f='\${db:Status-Abbrev} \${Package}\\n' 'linux-image-[0-9]*' | awk '$1 == "ii" { print $2 }'); do
  [ "$p" = "linux-image-$newest" ] || apt-get -y -q purge "$p"
done`;

export const hashOf = (...parts: unknown[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

function sourcesList(o: StageOptions): string {
  return [`deb ${o.mirror} ${o.suite} main`, `deb ${o.mirror} ${o.suite}-updates main`, `deb ${o.securityMirror} ${o.suite}-security main`, ''].join('\n');
}

/** Debian's base system for every image. */
export async function baseStage(o: StageOptions): Promise<Stage> {
  const started = Date.now();
  const key = hashOf(BASE_STAGE, o.suite, o.mirror, o.securityMirror, BASE_PACKAGES);
  const tar = path.join(o.cacheDir, `base-${o.suite}-${key.slice(0, 12)}.tar`);
  if (existsSync(tar)) return { key, tar, reused: true, seconds: 0 };
  const dir = path.join(o.workDir, 'base');
  await removeTree(dir, o.logFile);
  mkdirSync(dir, { recursive: true });
  o.say(`debootstrap of ${o.suite} from ${o.mirror} (the first build only: a few minutes)`);
  await unshared('debootstrap', ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, o.suite, dir, o.mirror], o.logFile);
  writeFileSync(path.join(dir, 'etc/apt/sources.list'), sourcesList(o));
  await inChroot(dir, ['apt-get', 'clean'], o.logFile);
  await saveTree(dir, tar, o.logFile);
  await removeTree(dir, o.logFile);
  evict(o.cacheDir, `base-${o.suite}-`, tar);
  return { key, tar, reused: false, seconds: (Date.now() - started) / 1000 };
}

/** Earlier trees of the same kind (`prefix`): replaced by `keep`, never reused again. */
function evict(cacheDir: string, prefix: string, keep: string): void {
  for (const f of readdirSync(cacheDir))
    if (f.startsWith(prefix) && f.endsWith('.tar') && path.join(cacheDir, f) !== keep) rmSync(path.join(cacheDir, f), { force: true });
}

/**
 * The base with the datastore's packages installed (security updates first), their own units
 * masked. Cached per datastore and recipe file: a changed recipe replaces that recipe's tree only.
 */
export async function engineStage(o: StageOptions, base: Stage, datastore: string, recipe: Recipe, recipeFile: string): Promise<Stage> {
  const started = Date.now();
  const key = hashOf(ENGINE_STAGE, base.key, recipe.packages, recipe.mask_units);
  const prefix = `${datastore}-${hashOf(path.resolve(recipeFile)).slice(0, 6)}-`;
  const tar = path.join(o.cacheDir, `${prefix}${key.slice(0, 12)}.tar`);
  if (existsSync(tar)) return { key, tar, reused: true, seconds: 0 };
  const dir = path.join(o.workDir, 'engine');
  await removeTree(dir, o.logFile);
  mkdirSync(dir, { recursive: true });
  await restoreTree(base.tar, dir, o.logFile);
  o.say(`installing ${recipe.packages.length ? recipe.packages.join(' ') : 'no packages'} (and the suite's updates)`);
  // the packages' scripts must not start daemons in the tree; apt needs to resolve the mirror
  const policy = path.join(dir, 'usr/sbin/policy-rc.d');
  writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const resolv = path.join(dir, 'etc/resolv.conf');
  const resolvLink = lstatSync(resolv, { throwIfNoEntry: false })?.isSymbolicLink() ? readlinkSync(resolv) : undefined;
  rmSync(resolv, { force: true }); // never written through: a symlink in the tree may point at the host's /run
  copyFileSync('/etc/resolv.conf', resolv);
  const apt = ['-y', '-q', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];
  await inChroot(dir, ['apt-get', '-q', 'update'], o.logFile);
  // without recommends: a newer kernel recommends apparmor, whose profile loading took 40 s of an
  // emulated boot and protects nothing here (Debian ships mariadbd's profile empty)
  await inChroot(dir, ['apt-get', ...apt, '--no-install-recommends', 'dist-upgrade'], o.logFile);
  // an update brings a newer kernel beside the old one: the image keeps the newest only
  await inChroot(dir, ['sh', '-c', KEEP_NEWEST_KERNEL], o.logFile);
  if (recipe.packages.length) await inChroot(dir, ['apt-get', ...apt, '--no-install-recommends', 'install', ...recipe.packages], o.logFile);
  if (recipe.mask_units.length) await inChroot(dir, ['systemctl', 'mask', ...recipe.mask_units], o.logFile);
  await inChroot(dir, ['apt-get', 'clean'], o.logFile);
  rmSync(policy);
  rmSync(resolv);
  if (resolvLink) symlinkSync(resolvLink, resolv);
  else writeFileSync(resolv, '');
  await saveTree(dir, tar, o.logFile);
  await removeTree(dir, o.logFile);
  evict(o.cacheDir, prefix, tar);
  return { key, tar, reused: false, seconds: (Date.now() - started) / 1000 };
}

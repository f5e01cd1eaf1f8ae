// Running the image's own programs on its tree: each command in a mount namespace of its own
// (unshare), with /proc and /sys mounted inside it, so no mount outlives the command, even when
// the builder is killed; trees saved to and restored from tar files (owners, modes, xattrs kept).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync } from 'node:fs';
import { tailLines } from '../../src/common/file-tail.js';

/** Runs `bin args`, its output appended to `logFile`; a failure names the command and quotes the log's end.
 * `env`: the whole environment when given (nothing of this process's: the tree's programs are not the host's). */
export function runLogged(bin: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(logFile, 'a');
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
    closeSync(fd);
    child.once('error', (err) => reject(new Error(`${bin} could not run: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) return resolve();
      const what = [bin, ...args].join(' ').slice(0, 200);
      reject(new Error(`${what} failed (${signal ?? `exit code ${code}`}); the end of ${logFile}:\n${tailLines(logFile, 15)}`));
    });
  });
}

const CHROOT_ENV = {
  HOME: '/root',
  DEBIAN_FRONTEND: 'noninteractive',
  LC_ALL: 'C.UTF-8',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
};

/** `argv` run inside the tree at `root` (as root, its /proc and /sys mounted for it alone). */
export function inChroot(root: string, argv: string[], logFile: string): Promise<void> {
  const script = 'mount -t proc proc "$0/proc" && mount -t sysfs sysfs "$0/sys" && exec chroot "$0" "$@"';
  return runLogged('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, root, ...argv], logFile, CHROOT_ENV);
}

/** debootstrap itself mounts in its target: it runs in a namespace of its own too. */
export function unshared(bin: string, args: string[], logFile: string): Promise<void> {
  return runLogged('unshare', ['--mount', '--propagation', 'private', '--', bin, ...args], logFile, CHROOT_ENV);
}

const TAR_OPTS = ['--numeric-owner', '--xattrs', '--xattrs-include=*'];

/** The tree as a tar file (written beside, then renamed: a cache file is whole or absent). */
export async function saveTree(root: string, tarFile: string, logFile: string): Promise<void> {
  await runLogged('tar', [...TAR_OPTS, '-C', root, '-cf', `${tarFile}.part`, '.'], logFile);
  renameSync(`${tarFile}.part`, tarFile);
}

export function restoreTree(tarFile: string, root: string, logFile: string): Promise<void> {
  return runLogged('tar', [...TAR_OPTS, '-C', root, '-xpf', tarFile], logFile);
}

/** Removes a work tree: whatever is still mounted under it first, and never across a mount. */
export async function removeTree(dir: string, logFile: string): Promise<void> {
  if (!existsSync(dir)) return;
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => Boolean(m) && (m === dir || m!.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await runLogged('umount', ['-l', m], logFile);
  await runLogged('rm', ['-rf', '--one-file-system', dir], logFile);
}

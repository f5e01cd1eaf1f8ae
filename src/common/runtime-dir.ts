// Where unix sockets go: a short runtime directory of their own, so that no socket path depends on
// how deep the project or its state directory lies (the kernel refuses a socket path over 107
// bytes). /run/trove-ts/<key> when root and /run is writable, else <tmpdir>/trove-ts-<uid>/<key>,
// or <runtime_dir>/<key> when configured; <key> is a short hash of the resolved state directory.
// /run is a tmpfs: only sockets (and other files a reboot may lose) go here, and the directories
// are made again before every start.
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, chownSync, constants, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { opt } from './config/schema.js';

/** sun_path holds 108 bytes, the terminating NUL included. */
export const SOCKET_PATH_MAX = 107;

/** The key, for both the guest agent ([DEFAULT]) and the all-in-one ([local]). */
export const runtimeDirKey = {
  /** (trove-ts) The base directory of unix sockets (default /run/trove-ts as root, else <tmp>/trove-ts-<uid>). */
  runtime_dir: opt.optStr(),
};

/** 12 hex digits of the SHA-256 of the state directory's real path (its resolved path while it does not exist). */
export function stateKey(stateDir: string): string {
  let resolved = path.resolve(stateDir);
  try {
    resolved = realpathSync(resolved);
  } catch {
    /* not there yet */
  }
  return createHash('sha256').update(resolved).digest('hex').slice(0, 12);
}

export interface Host {
  uid: number | undefined;
  tmp: string;
  runWritable: boolean;
}

function thisHost(): Host {
  let runWritable: boolean;
  try {
    accessSync('/run', constants.W_OK);
    runWritable = true;
  } catch {
    runWritable = false;
  }
  return { uid: process.getuid?.(), tmp: tmpdir(), runWritable };
}

/** The base when none is configured: /run/trove-ts for root with a writable /run, else <tmp>/trove-ts-<uid>. */
export function defaultRuntimeBase(host: Host = thisHost()): string {
  if (host.uid === 0 && host.runWritable) return '/run/trove-ts';
  return path.join(host.tmp, `trove-ts-${host.uid ?? 'user'}`);
}

/** The runtime directory of the process whose state is in `stateDir`. */
export function runtimeDirFor(stateDir: string, base?: string, host?: Host): string {
  return path.join(base ? path.resolve(base) : defaultRuntimeBase(host), stateKey(stateDir));
}

/** Fails before a start when a socket path is too long for the kernel, naming the path and the key to set. */
export function checkSocketPath(socket: string, key = '[DEFAULT] runtime_dir'): string {
  const bytes = Buffer.byteLength(socket);
  if (bytes > SOCKET_PATH_MAX) {
    throw new ConfigError(
      `the unix socket path ${socket} is ${bytes} bytes long, over the kernel's limit of ${SOCKET_PATH_MAX} bytes: set ${key} to a shorter directory`,
    );
  }
  return socket;
}

export interface DirOwner {
  uid: number;
  gid: number;
}

/**
 * Makes the runtime directory (0700, or 0711 when it holds `sub`) and `sub` in it (0700, owned by
 * `owner`: the engine's user when the agent runs as root); the base is made 0711 when missing, so
 * that an engine's user can reach its own directory but nobody can list them. A directory on the
 * way that another user could swap (not ours and writable by others without the sticky bit, a
 * symlink of someone else's) is refused. Returns the directory the sockets go in.
 */
export function makeRuntimeDir(runtimeDir: string, o: { sub?: string; owner?: DirOwner; key?: string } = {}): string {
  const key = o.key ?? '[DEFAULT] runtime_dir';
  const me = process.getuid?.();
  const base = path.dirname(runtimeDir);
  if (mkdirSync(base, { recursive: true, mode: 0o711 })) chmodSync(base, 0o711);
  const b = lstatSync(base);
  const ours = me === undefined || b.uid === me;
  const swappable = (b.mode & 0o022) !== 0 && (b.mode & 0o1000) === 0;
  if (!ours && (b.isSymbolicLink() || swappable))
    throw new ConfigError(
      `the runtime directory ${base} belongs to another user (uid ${b.uid}) who could replace what is in it: set ${key} to a directory of your own`,
    );
  mkdirSync(runtimeDir, { recursive: true });
  const r = lstatSync(runtimeDir);
  if (!r.isDirectory() || (me !== undefined && r.uid !== me))
    throw new ConfigError(`the runtime directory ${runtimeDir} is not a directory of this user (uid ${me}): remove it or set ${key}`);
  chmodSync(runtimeDir, o.sub ? 0o711 : 0o700);
  if (!o.sub) return runtimeDir;
  const dir = path.join(runtimeDir, o.sub);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o700);
  if (o.owner) chownSync(dir, o.owner.uid, o.owner.gid);
  return dir;
}

/** The file in a guest agent's state directory that holds its runtime directory's path. */
export const RUNTIME_DIR_RECORD = 'runtime-dir';

/** The zod schema of the key alone (the all-in-one reads it from [local]). */
export const runtimeDirSection = z.object(runtimeDirKey);

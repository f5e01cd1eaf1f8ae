// The part of cloud-config a trove-ts guest boots with (the taskmanager's user_data, from the config
// drive): bootcmd, run as root at every boot before the agent, and write_files (the guest config,
// 0600 root's). What cloud-init would do with it, without cloud-init (and its Python) in the image.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);

export interface WriteFile {
  path: string;
  content: string;
  /** numeric uid:gid (root:root is 0:0) */
  uid: number;
  gid: number;
  mode: number;
}

export interface CloudConfig {
  /** each an argv (a string is run by sh -c, as cloud-init does) */
  bootcmd: string[][];
  writeFiles: WriteFile[];
}

export class CloudConfigError extends Error {
  constructor(message: string) {
    super(`user_data: ${message}`);
    this.name = 'CloudConfigError';
  }
}

/** `root`, `0`, `root:root`, `0:0`: the only owners the guest's files have (its agent runs as root). */
function ownerOf(owner: unknown, where: string): { uid: number; gid: number } {
  const text = owner === undefined ? 'root:root' : String(owner);
  const [u, g = u] = text.split(':');
  const id = (name: string | undefined) => (name === 'root' || name === '0' ? 0 : undefined);
  const uid = id(u);
  const gid = id(g);
  if (uid === undefined || gid === undefined) throw new CloudConfigError(`${where}: owner '${text}' is not root (the only owner a guest file has)`);
  return { uid, gid };
}

function contentOf(f: Record<string, unknown>, where: string): string {
  const content = f.content === undefined ? '' : f.content;
  if (typeof content !== 'string') throw new CloudConfigError(`${where}: content must be a string`);
  const encoding = f.encoding === undefined ? 'text/plain' : String(f.encoding);
  if (['b64', 'base64'].includes(encoding)) return Buffer.from(content, 'base64').toString('utf8');
  if (encoding !== 'text/plain') throw new CloudConfigError(`${where}: encoding '${encoding}' is not supported (text/plain, b64)`);
  return content;
}

/** Parses a `#cloud-config` document; anything else (a script, a MIME multipart) is refused with the reason. */
export function parseCloudConfig(text: string): CloudConfig {
  if (!text.startsWith('#cloud-config')) throw new CloudConfigError('not a #cloud-config document');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new CloudConfigError(`not valid YAML: ${(err as Error).message}`);
  }
  const d = (doc ?? {}) as Record<string, unknown>;
  const bootcmd = (Array.isArray(d.bootcmd) ? d.bootcmd : []).map((c, i) => {
    if (typeof c === 'string') return ['sh', '-c', c];
    if (Array.isArray(c) && c.length > 0 && c.every((a) => typeof a === 'string')) return c as string[];
    throw new CloudConfigError(`bootcmd[${i}] must be a string or a list of strings`);
  });
  const writeFiles = (Array.isArray(d.write_files) ? d.write_files : []).map((f, i) => {
    const where = `write_files[${i}]`;
    if (!f || typeof f !== 'object') throw new CloudConfigError(`${where} must be a mapping`);
    const e = f as Record<string, unknown>;
    if (typeof e.path !== 'string' || !path.isAbsolute(e.path)) throw new CloudConfigError(`${where}: path must be absolute`);
    const permissions = e.permissions === undefined ? '0644' : String(e.permissions);
    if (!/^0?[0-7]{3,4}$/.test(permissions)) throw new CloudConfigError(`${where}: permissions '${permissions}' is not an octal mode`);
    return { path: e.path, content: contentOf(e, where), ...ownerOf(e.owner, where), mode: parseInt(permissions, 8) };
  });
  return { bootcmd, writeFiles };
}

/** Writes a file as a new one renamed over the old: its mode and owner hold before any byte is readable. */
export function writeGuestFile(f: WriteFile, root = '/'): void {
  const target = path.join(root, f.path);
  mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}`);
  try {
    writeFileSync(tmp, '', { mode: 0o600, flag: 'wx' });
    chownSync(tmp, f.uid, f.gid);
    writeFileSync(tmp, f.content);
    chmodSync(tmp, f.mode);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Runs every bootcmd (a failure is reported, the next still runs, as cloud-init does), then writes the files. */
export async function applyCloudConfig(c: CloudConfig, log: (line: string) => void, root = '/'): Promise<{ failedCommands: number }> {
  let failedCommands = 0;
  for (const [bin, ...args] of c.bootcmd) {
    try {
      await run(bin!, args, { timeout: 60_000 });
    } catch (err) {
      failedCommands += 1;
      const e = err as { code?: unknown; stderr?: string };
      log(`bootcmd ${bin} failed (${String(e.code ?? 'signal')}): ${(e.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`);
    }
  }
  for (const f of c.writeFiles) {
    writeGuestFile(f, root);
    log(`wrote ${f.path} (${f.mode.toString(8).padStart(4, '0')}, uid ${f.uid})`);
  }
  return { failedCommands };
}

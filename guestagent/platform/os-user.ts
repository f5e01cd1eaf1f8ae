// The OS user an engine's server runs as: an agent running as root runs the server (and its tools)
// as the engine's run_as user and hands it the directories the server writes.
import { execFile } from 'node:child_process';
import { chownSync, lchownSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

function lookupUser(name: string): OsUser | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

/**
 * run_as when the agent is root; otherwise (undefined) the agent itself. A run_as that does not
 * exist is an error, or with `missing: 'agent'` (the MySQL family's rule) the agent's own user.
 */
export function serverUser(runAs: string, missing: 'error' | 'agent' = 'error'): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const u = lookupUser(runAs);
  if (!u && missing === 'error') throw new Error(`the OS user '${runAs}' the server runs as does not exist (set run_as in the engine's section)`);
  return u;
}

/** The OS user name the agent runs as (the one its unix-socket connections are known by). */
export const agentUserName = (): string => userInfo().username;

export function chownAll(paths: string[], u: OsUser | undefined): void {
  if (u) for (const p of paths) chownSync(p, u.uid, u.gid);
}

/** chown -R to the server's user (when the agent is root); a symbolic link itself, never what it points to. */
export function ownTree(dir: string, u: OsUser | undefined): void {
  if (!u) return;
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return lchownSync(p, u.uid, u.gid);
    chownSync(p, u.uid, u.gid);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
}

/** Runs a program as the server's user, in a directory that user can read. */
export async function runAsServer(u: OsUser | undefined, bin: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<string> {
  const { stdout } = await execFileP(bin, args, {
    cwd,
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
    ...(u ? { uid: u.uid, gid: u.gid, env: { ...process.env, HOME: cwd, USER: u.name, LOGNAME: u.name } } : {}),
  });
  return stdout;
}

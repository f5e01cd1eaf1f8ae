// The OS user an engine's server runs as: an agent running as root runs the server (and its tools)
// as the engine's run_as user and hands it the directories the server writes.
import { execFile } from 'node:child_process';
import { chownSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
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

/** run_as when the agent is root (an error if that user does not exist); otherwise the agent itself. */
export function serverUser(runAs: string): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const u = lookupUser(runAs);
  if (!u) throw new Error(`the OS user '${runAs}' the server runs as does not exist (set run_as in the engine's section)`);
  return u;
}

/** The OS user name the agent runs as (the one its unix-socket connections are known by). */
export const agentUserName = (): string => userInfo().username;

export function chownAll(paths: string[], u: OsUser | undefined): void {
  if (u) for (const p of paths) chownSync(p, u.uid, u.gid);
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

// Daemons the agent starts and stops: detached (they outlive an agent restart), tracked by pid file.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, existsSync, closeSync } from 'node:fs';

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a detached daemon with its output appended to logFile (as another OS user when `as` is given); returns its pid. */
export function startDaemon(bin: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}, as?: { uid: number; gid: number; cwd: string }): number {
  if (!existsSync(bin)) throw new Error(`could not start ${bin}: no such file (the engine's program is not installed where the guest's configuration says)`);
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env }, ...(as ?? {}) });
    child.on('error', () => undefined); // reported through the readiness wait instead
    child.unref();
    if (!child.pid) throw new Error(`could not start ${bin}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(pid: number | undefined, graceMs = 30_000): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid!, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) {
    process.kill(pid!, 'SIGKILL');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * waitFor for a daemon just started: ends at once, with `failure()` as the error, when the daemon
 * has exited (`alive()` false twice in a row, so a daemon that forks and writes its pid late is
 * not mistaken for a dead one) instead of waiting out the timeout.
 */
export async function waitForDaemon(
  check: () => Promise<boolean>,
  o: { alive: () => boolean; timeoutMs: number; what: string; failure: (exited: boolean) => Error },
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let deadChecks = 0;
  for (;;) {
    if (await check().catch(() => false)) return;
    deadChecks = o.alive() ? 0 : deadChecks + 1;
    if (deadChecks >= 2) throw o.failure(true);
    if (Date.now() > deadline) throw o.failure(false);
    await new Promise((r) => setTimeout(r, 200));
  }
}

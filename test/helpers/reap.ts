// The processes a test started (guest agents, engines, API processes), found by the directory
// they were started in or name on their command line, and stopped when the test file's worker
// exits for any reason: a crash (an uncaught exception) runs neither t.teardown nor after.always.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Pids of the processes whose command line names `dir` or whose working directory is in it.
 * The working directory catches an engine that rewrote its command line (redis-server shows only
 * its address) but runs in its data directory.
 */
export function processesUnder(dir: string): number[] {
  const root = dir.replace(/\/+$/, '');
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cmdline.some((a) => a.includes(root)) || cwd === root || cwd.startsWith(`${root}/`)) pids.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Pids of every process descended from `root` (children, their children, ...), from /proc. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue; // dead already
      children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), pid]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (const todo = [...(children.get(root) ?? [])]; todo.length;) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const signal = (pids: number[], sig: NodeJS.Signals): void => {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
};

/** SIGTERM to every process under `dir`, SIGKILL to those still there after `graceMs`; resolves once none is left (or after another 5 s). */
export async function killUnder(dir: string, graceMs = 10_000): Promise<void> {
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
  signal(processesUnder(dir), 'SIGTERM');
  for (const until = Date.now() + graceMs; Date.now() < until && processesUnder(dir).some(alive);) await sleep(200);
  signal(processesUnder(dir), 'SIGKILL');
  for (const until = Date.now() + 5000; Date.now() < until && processesUnder(dir).some(alive);) await sleep(200);
}

const dirs = new Set<string>();
const children = new Set<ChildProcess>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) signal(processesUnder(d), 'SIGKILL');
  });
}

/** Every process under `dir` is killed when this worker exits, however it exits. */
export function reapOnExit(dir: string): void {
  install();
  dirs.add(dir);
}

/** `child` is killed when this worker exits, however it exits. */
export function killOnExit(child: ChildProcess): ChildProcess {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

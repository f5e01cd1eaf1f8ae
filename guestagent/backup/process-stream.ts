// A child process as a stream stage: its stdout as a backup's source, its stdin as a restore's
// sink, or both as a transform (zstd). A stage succeeds only if the process exits 0: a source's
// stream ends only then (else it errors, so a partial backup is never committed), a sink's `done`
// resolves only then. Errors carry the tail of the process's stderr, never its arguments (they may
// name credential files, never hold secrets: pass secrets through files or stdin).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { Duplex, PassThrough, type Readable, type Writable } from 'node:stream';

export class ProcessFailedError extends Error {
  constructor(
    readonly bin: string,
    readonly code: number | null,
    readonly stderrTail: string,
  ) {
    super(`${path.basename(bin)} ${code === null ? 'was killed' : `exited with code ${code}`}${stderrTail ? `: ${stderrTail}` : ''}`);
    this.name = 'ProcessFailedError';
  }
}

export interface ProcessSpec {
  bin: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** An executable of that name on PATH (or the path itself if it is executable). */
export function findExecutable(name: string): string | undefined {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/usr/bin']).map((d) => path.join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function start(spec: ProcessSpec, stdin: 'pipe' | 'ignore', stdout: 'pipe' | 'ignore'): { child: ChildProcess; exited: Promise<void> } {
  const child = spawn(spec.bin, spec.args, { stdio: [stdin, stdout, 'pipe'], env: { ...process.env, ...(spec.env ?? {}) }, cwd: spec.cwd });
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => {
    tail = (tail + d.toString('utf8')).slice(-2000);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new ProcessFailedError(spec.bin, null, e.message)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new ProcessFailedError(spec.bin, code, tail.trim().split('\n').slice(-5).join(' | ')))));
  });
  exited.catch(() => undefined);
  return { child, exited };
}

/** The process's stdout, ending only when the process exited 0 (else erroring). Destroying it kills the process. */
export function processSource(spec: ProcessSpec): Readable {
  const { child, exited } = start(spec, 'ignore', 'pipe');
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  child.stdout!.pipe(out, { end: false });
  const stdoutDone = new Promise((r) => child.stdout!.once('end', r));
  Promise.all([exited, stdoutDone]).then(
    () => out.end(),
    (e) => out.destroy(e),
  );
  out.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  return out;
}

export interface ProcessSink {
  stream: Writable;
  /** Resolves when the process exited 0 after its stdin was closed. */
  done: Promise<void>;
}

/** The process's stdin. */
export function processSink(spec: ProcessSpec): ProcessSink {
  const { child, exited } = start(spec, 'pipe', 'ignore');
  child.stdin!.on('error', () => undefined); // EPIPE when the process died: reported through `done`
  return { stream: child.stdin!, done: exited };
}

/** stdin → process → stdout as one Duplex that errors if the process fails. */
export function processTransform(spec: ProcessSpec): Duplex {
  const { child, exited } = start(spec, 'pipe', 'pipe');
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  child.stdout!.pipe(out, { end: false });
  const stdoutDone = new Promise((r) => child.stdout!.once('end', r));
  child.stdin!.on('error', () => undefined);
  const d = Duplex.from({ writable: child.stdin!, readable: out });
  Promise.all([exited, stdoutDone]).then(
    () => out.end(),
    (e) => d.destroy(e),
  );
  d.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  return d;
}

/** Runs a process to completion; rejects with its stderr tail unless it exits 0. */
export async function runProcess(spec: ProcessSpec): Promise<void> {
  await start(spec, 'ignore', 'ignore').exited;
}

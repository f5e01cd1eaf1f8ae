// A child process as a stream stage: its stdout as a backup's source, its stdin as a restore's
// sink, or both as a transform (zstd). A stage succeeds only if the process exits 0: a source's
// stream ends only then (else it errors, so a partial backup is never committed), a sink's `done`
// resolves only then. Errors carry the tail of the process's stderr, never its arguments (they may
// name credential files, never hold secrets: pass secrets through files or stdin).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { Duplex, PassThrough, Writable, type Readable } from 'node:stream';

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
  const candidates = name.includes('/')
    ? [name]
    : (process.env.PATH ?? '/usr/bin:/bin')
        .split(':')
        .concat(['/usr/sbin', '/usr/bin'])
        .map((d) => path.join(d, name));
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

/**
 * The process's stdin, wrapped so that a process which exits 0 is a success however its stdin
 * ends. tar stops reading at its end-of-archive blocks and exits; the pipe's reader is then gone,
 * so the last write or the close of stdin fails with EPIPE, which a bare stdin reports as an
 * error (a pipeline's "Premature close") although nothing was lost — more often on a loaded
 * machine, where the process gets there before the agent closes the pipe. Once the process has
 * exited 0, the rest of the stream is read and discarded, so the caller's checksum still covers
 * every byte; if it exits otherwise, the write fails with the process's own error.
 */
export function processSink(spec: ProcessSpec): ProcessSink {
  const { child, exited } = start(spec, 'pipe', 'ignore');
  const stdin = child.stdin!;
  stdin.on('error', () => undefined); // EPIPE once the process is gone: settled by its exit below
  const settle = (cb: (e?: Error | null) => void) =>
    exited.then(
      () => cb(),
      (e: Error) => cb(e),
    );
  const stream = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, cb) {
      if (stdin.destroyed || stdin.writableEnded) return void settle(cb);
      stdin.write(chunk, (e) => (e ? void settle(cb) : cb()));
    },
    final(cb) {
      if (stdin.destroyed) return void settle(cb);
      let called = false;
      const once = (f: () => void) => () => {
        if (!called) {
          called = true;
          f();
        }
      };
      stdin.once(
        'finish',
        once(() => cb()),
      );
      stdin.once(
        'close',
        once(() => void settle(cb)),
      );
      stdin.end();
    },
    destroy(e, cb) {
      stdin.destroy();
      cb(e);
    },
  });
  return { stream, done: exited };
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

// trove-api's worker processes (Trove's [DEFAULT] trove_api_workers): the primary forks them with
// node:cluster, they share the listening socket (the primary hands each new connection to the next
// worker in turn), and each is a whole trove-api (its own database pool, bus connection, policy,
// per-user rate limits). The first worker starts alone, so that a configuration it refuses (the
// port in use, an unreachable bus) is said once; the others follow. A worker that dies later is
// replaced; SIGTERM/SIGINT stop them all (each closes its connections) before the primary exits.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

/** Workers for `configured` ([DEFAULT] trove_api_workers; 0: one per CPU, Trove's default). */
export function workerCount(configured: number): number {
  return configured > 0 ? configured : availableParallelism();
}

export interface WorkerOptions {
  count: number;
  log: Logger;
  /** A replacement for a worker that died is forked this long after (ms). */
  respawnDelayMs?: number;
  /** Workers still running this long after SIGTERM are killed (ms). */
  stopTimeoutMs?: number;
}

/** In the primary: forks `count` workers of this same entry point and supervises them; resolves when they all stopped on a signal. */
export async function superviseWorkers(o: WorkerOptions): Promise<void> {
  let stopping = false;
  const live = new Set<Worker>();
  const fork = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const w = cluster.fork();
      live.add(w);
      let ready = false;
      w.once('listening', () => {
        ready = true;
        resolve(w);
      });
      w.once('exit', (code, signal) => {
        live.delete(w);
        if (!ready) {
          // the worker said why on the shared stderr; one line here, not a stack
          reject(new ConfigError(`a worker stopped before listening (${signal ?? `exit code ${code}`}), for the reason above`));
          return;
        }
        if (stopping) return;
        o.log.error({ worker_pid: w.process.pid, code, signal }, 'trove-api worker died; starting another');
        setTimeout(() => {
          if (!stopping) fork().catch((err: Error) => o.log.error({ err: { message: err.message } }, 'trove-api worker could not be replaced'));
        }, o.respawnDelayMs ?? 1000).unref();
      });
    });

  const stopAll = (): Promise<void> => {
    stopping = true;
    const exits = [...live].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of live) w.process.kill('SIGTERM');
    // a worker that has not closed its connections by then is killed
    const kill = setTimeout(() => {
      for (const w of live) w.process.kill('SIGKILL');
    }, o.stopTimeoutMs ?? 30_000);
    return Promise.all(exits).then(() => clearTimeout(kill));
  };

  try {
    await fork();
    await Promise.all(Array.from({ length: o.count - 1 }, fork));
  } catch (err) {
    await stopAll();
    throw err;
  }
  o.log.info({ workers: o.count, pids: [...live].map((w) => w.process.pid) }, 'trove-api workers started');
  await new Promise<void>((resolve) => {
    const stop = () => {
      o.log.info('trove-api stopping its workers');
      void stopAll().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export const isWorker = (): boolean => cluster.isWorker;

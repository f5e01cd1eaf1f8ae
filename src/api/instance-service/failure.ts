// How the instance service fails: a cast the taskmanager could not be told about, and undoing
// what was taken so that nothing stays taken when a step fails.
import type { Logger } from '../../common/log.js';

/** A cast that did not reach the taskmanager (the bus refused it); `cause` is the transport's error. */
export class CastFailure extends Error {
  constructor(
    readonly what: string,
    override readonly cause: unknown,
  ) {
    super(`could not cast ${what}`, { cause });
  }
}

/** One thing to give back: a name for the log, and the write that gives it back. */
export type UndoStep = [what: string, run: () => Promise<unknown>];

/**
 * Runs every step, even when one fails (a quota not given back must not also keep the task), then
 * raises the first failure: the caller then answers that error, never "nothing was changed".
 */
export async function undoAll(log: Logger, steps: UndoStep[]): Promise<void> {
  let first: { err: unknown } | undefined;
  for (const [what, run] of steps) {
    try {
      await run();
    } catch (err) {
      log.error({ err: (err as Error).message }, `could not give back ${what}`);
      first ??= { err };
    }
  }
  if (first) throw first.err;
}

// A taskmanager's periodic pass (backup schedules, storage autoscaling, maintenance windows, exists
// events): run every `seconds`, never two at once (a tick while a pass runs is skipped), a failed
// pass logged with `what` and retried at the next tick. The function returned stops the timer and
// waits for a pass in progress.
import type { Logger } from '../common/log.js';

export function startPeriodic(log: Logger, seconds: number, what: string, pass: () => Promise<unknown>): () => Promise<void> {
  let current: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    current ??= pass()
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, what))
      .finally(() => (current = undefined));
  }, seconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await current;
  };
}

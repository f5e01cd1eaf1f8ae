// The part of an in-place upgrade every engine shares: the server stopped, copies kept of what the
// new build may change (the data directory, config files), the target build started and checked;
// any failure stops it, puts the copies back and starts the old build, so that the instance is as
// it was and the error says why in the engine's words (EngineFailure's log tail kept).
import { execFile } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from '../../src/common/log.js';
import { EngineFailure, lastLines } from '../platform/error-tail.js';

const run = promisify(execFile);

/** How an engine's lifecycle runs one build or another. */
export interface BuildSwitch<B> {
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The build the server runs now. */
  bins(): B;
  /** Runs `b` from the next start on. */
  useBuild(b: B): void;
}

/**
 * Stops the server, copies each of `keep` (cp -a --reflink=auto, beside it as <path>.pre-upgrade),
 * starts `target` and runs `check` (which answers the version the server now reports). On a
 * failure: the copies back, the old build started, an EngineFailure saying "The upgrade from
 * `from` to `to` failed and was rolled back ...: <why>".
 */
export async function switchBuild<B>(
  lc: BuildSwitch<B>,
  o: { target: B; keep: string[]; from: string; to: string; check: () => Promise<string>; log: Logger },
): Promise<{ version: string }> {
  const before = lc.bins();
  const saved = o.keep.map((f) => ({ f, copy: `${f}.pre-upgrade` }));
  const dropCopies = () => saved.forEach((s) => rmSync(s.copy, { recursive: true, force: true }));
  await lc.stop();
  try {
    dropCopies();
    for (const s of saved) await run('cp', ['-a', '--reflink=auto', s.f, s.copy], { maxBuffer: 1024 * 1024 });
  } catch (err) {
    dropCopies();
    await lc.start();
    const x = err as Error & { stderr?: string };
    throw new EngineFailure(`The data directory could not be copied before the upgrade (nothing was changed): ${lastLines(x.stderr || x.message)}`);
  }
  lc.useBuild(o.target);
  try {
    await lc.start();
    const version = await o.check();
    dropCopies();
    o.log.info({ version }, 'upgrade: done');
    return { version };
  } catch (err) {
    const e = err as Error & { logTail?: string };
    o.log.error({ err: e.message }, 'upgrade failed: rolling back to the old build and data');
    await lc.stop().catch(() => undefined);
    for (const s of saved) {
      if (!existsSync(s.copy)) continue;
      rmSync(s.f, { recursive: true, force: true });
      renameSync(s.copy, s.f);
    }
    lc.useBuild(before);
    let again = '';
    await lc.start().catch((s: Error) => (again = ` The old server did not start again: ${s.message}`));
    throw new EngineFailure(
      `The upgrade from ${o.from} to ${o.to} failed and was rolled back to the old binaries and data: ${e.message}${again}`,
      e.logTail ?? '',
    );
  }
}

// What a failed flow records: a message the user can act on (the guest's reason, not "see the
// guest log": that log goes with the removed server) and, for the admin, details that hold the
// guest's log tail (the engine's error lines the guest sent, the server's console = the agent's
// log, read before the server is removed) instead of a taskmanager stack trace. Secrets scrubbed.
import { scrubSecrets } from '../common/log.js';
import { RemoteError } from '../rpc/errors.js';
import { serverOf } from '../db/instances.js';
import type { TaskContext } from './context.js';
import { GuestFailedError, WaitError } from './waits.js';

/** How many lines of the server's console (its agent log) a fault keeps. */
export const CONSOLE_LINES = 40;

/** The server's console tail, '' when there is no server or the driver cannot read it. */
export async function consoleTail(ctx: TaskContext, serverId: string | null | undefined): Promise<string> {
  if (!serverId) return '';
  // never a reason for the fault itself to fail: no console is an empty one
  return Promise.resolve()
    .then(() => ctx.compute.consoleOutput(serverId, CONSOLE_LINES))
    .catch(() => '');
}

/** The console tail of an instance's current server. */
export async function instanceConsoleTail(ctx: TaskContext, instanceId: string): Promise<string> {
  return consoleTail(ctx, await serverOf(ctx.db, instanceId));
}

/** Errors whose message is the whole story (the guest's or a wait's): no stack trace in the details. */
function explained(error: Error): boolean {
  return error instanceof WaitError || error instanceof RemoteError;
}

/** A fault's details: the reason, the guest's log tail and console, cleanup notes; a stack only for the taskmanager's own errors. */
export function faultDetails(error: Error, console: string, notes: string[] = []): string {
  const parts = [explained(error) ? error.message : (error.stack ?? `${error.name}: ${error.message}`)];
  if (error instanceof GuestFailedError && error.logTail) parts.push(`--- guest log tail ---\n${error.logTail.trimEnd()}`);
  if (console) parts.push(`--- server console (guest agent log), last ${CONSOLE_LINES} lines ---\n${console.trimEnd()}`);
  parts.push(...notes);
  return scrubSecrets(parts.join('\n'), 16_000);
}

/** A fault message, secrets scrubbed. */
export function faultMessage(text: string): string {
  return scrubSecrets(text);
}

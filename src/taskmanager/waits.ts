// Polling waits the flows share: a server reaching a status, a guest reporting itself ready.
import { ComputeNotFoundError, type Server } from '../clients/compute.js';
import { ServiceStatuses } from '../common/service-status.js';
import type { TaskContext } from './context.js';
import { guestStatus, serverOf } from '../db/instances.js';
import { cannotStartReason } from '../common/guest-console.js';

export class WaitError extends Error {}

/** The guest reported 'failed to spawn': the message is its reason, `logTail` the log lines it sent behind it. */
export class GuestFailedError extends WaitError {
  constructor(
    reason: string | null | undefined,
    readonly logTail = '',
  ) {
    super(reason ? `the database could not start: ${reason}` : 'the guest could not start the database (failed to spawn) and sent no reason');
    this.name = 'GuestFailedError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitForServer(ctx: TaskContext, serverId: string, want: string[], deadline: number, intervalMs = 1000): Promise<Server> {
  for (;;) {
    const s = await ctx.compute.getServer(serverId);
    if (want.includes(s.status)) return s;
    if (s.status === 'ERROR') throw new WaitError(`The server went to ERROR${s.fault ? `: ${s.fault}` : ''}`);
    if (Date.now() > deadline) throw new WaitError(`The server did not become ${want.join('/')} in time (it is ${s.status}).`);
    await sleep(intervalMs);
  }
}

export async function waitForServerGone(ctx: TaskContext, serverId: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const s = await ctx.compute.getServer(serverId);
      if (s.status === 'DELETED') return;
    } catch (err) {
      if (err instanceof ComputeNotFoundError) return;
      throw err;
    }
    if (Date.now() > deadline) throw new WaitError(`The server ${serverId} was not deleted in time.`);
    await sleep(1000);
  }
}

const READY = new Set<number>([ServiceStatuses.HEALTHY.code, ServiceStatuses.RUNNING.code]);
const FAILED = new Set<number>([ServiceStatuses.FAILED.code]);

/**
 * Waits until the guest reports the engine ready (healthy/running) after `since`; a guest that
 * reports "failed to spawn" ends the wait at once. `readConsole` (a new server, whose console holds
 * only this boot): a guest whose agent cannot start at all (no config, a bus that refuses its
 * login) says why on its console (src/common/guest-console.ts), and that ends the wait too.
 */
export async function waitForGuestReady(ctx: TaskContext, instanceId: string, since: Date, deadline: number, o: { readConsole?: boolean } = {}): Promise<void> {
  for (let round = 0; ; round++) {
    if (round % 10 === 9) {
      // a server that died (or whose agent died) will never report: stop waiting
      const server = await serverOf(ctx.db, instanceId);
      if (server) {
        const s = await ctx.compute.getServer(server).catch(() => undefined);
        const reason = o.readConsole ? cannotStartReason(await ctx.compute.consoleOutput(server, 60).catch(() => '')) : undefined;
        if (reason) throw new WaitError(`the guest agent could not start: ${reason}`);
        if (s?.status === 'ERROR') throw new WaitError(`The server went to ERROR${s.fault ? `: ${s.fault}` : ''} before the guest reported ready.`);
      }
    }
    const row = await guestStatus(ctx.db, instanceId);
    const fresh = row?.updated_at && new Date(row.updated_at).getTime() >= since.getTime() - 1000;
    if (row && fresh && READY.has(row.status_id)) return;
    if (row && fresh && FAILED.has(row.status_id)) throw new GuestFailedError(row.status_reason, row.status_log_tail ?? '');
    if (Date.now() > deadline) throw new WaitError('The guest agent did not report the database ready in time.');
    await sleep(500);
  }
}

// Polling waits the flows share: a server reaching a status, a guest reporting itself ready.
import { ComputeNotFoundError, type Server } from '../clients/compute.js';
import { ServiceStatuses } from '../common/service-status.js';
import type { TaskContext } from './context.js';

export class WaitError extends Error {}

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
 * reports "failed to spawn" ends the wait at once.
 */
export async function waitForGuestReady(ctx: TaskContext, instanceId: string, since: Date, deadline: number): Promise<void> {
  for (let round = 0; ; round++) {
    if (round % 10 === 9) {
      // a server that died (or whose agent died) will never report: stop waiting
      const inst = await ctx.db('instances').where({ id: instanceId }).first('compute_instance_id');
      if (inst?.compute_instance_id) {
        const s = await ctx.compute.getServer(inst.compute_instance_id).catch(() => undefined);
        if (s?.status === 'ERROR') throw new WaitError(`The server went to ERROR${s.fault ? `: ${s.fault}` : ''} before the guest reported ready.`);
      }
    }
    const row = await ctx.db('service_statuses').where({ instance_id: instanceId }).first('status_id', 'updated_at');
    const fresh = row?.updated_at && new Date(row.updated_at).getTime() >= since.getTime() - 1000;
    if (row && fresh && READY.has(row.status_id)) return;
    if (row && fresh && FAILED.has(row.status_id)) throw new WaitError('The guest could not start the database (failed to spawn); see the guest log.');
    if (Date.now() > deadline) throw new WaitError('The guest agent did not report the database ready in time.');
    await sleep(500);
  }
}

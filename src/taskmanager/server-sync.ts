// Keeps each instance's server state (status, addresses) current in the database, so the API
// answers from its own rows instead of asking compute on every request; also picks up flows
// whose taskmanager died (lease expired).
import { ComputeNotFoundError } from '../clients/compute.js';
import { recordServerState, serversToSync } from '../db/instances.js';
import type { TaskContext } from './context.js';

export async function syncServers(ctx: TaskContext): Promise<number> {
  let changed = 0;
  for (const r of await serversToSync(ctx.db)) {
    try {
      const s = await ctx.compute.getServer(r.compute_instance_id);
      const addresses = JSON.stringify(s.addresses);
      if (s.status !== r.server_status || addresses !== r.addresses) {
        await recordServerState(ctx.db, r.id, { server_status: s.status, addresses });
        changed++;
      }
    } catch (err) {
      if (err instanceof ComputeNotFoundError && r.server_status !== 'DELETED') {
        await recordServerState(ctx.db, r.id, { server_status: 'SHUTDOWN' });
        changed++;
      }
    }
  }
  return changed;
}

export function startSweeper(ctx: TaskContext): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all([syncServers(ctx), ctx.runner.resumeAll()])
      .catch((err) => ctx.log.warn({ err: (err as Error).message }, 'sweep failed'))
      .finally(() => (busy = false));
  }, ctx.config.server_sync_interval * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

// Removes an instance's cloud resources: server (waiting until it is gone, so its volume is
// detached), volume, security group, the guest's bus user and queue, and (all-in-one) the
// transaction logs its guest archived. Best effort per resource; returns what could not be removed.
import type { Logger } from '../../common/log.js';
import type { TaskContext } from '../context.js';
import { waitForServerGone } from '../waits.js';
import { archivedLogsPrefix } from '../../common/log-archive-names.js';

export interface Resources {
  serverId?: string | null | undefined;
  volumeId?: string | null | undefined;
  securityGroup?: string | null | undefined;
  /** The instance whose guest's bus user and queue go (after its server, which is the guest). */
  busOf?: string | undefined;
  /** The instance whose archived transaction logs go (after its server, which archives them). */
  logArchiveOf?: string | undefined;
}

/** `<log_archive_container>/binlogs/<id>/…` and its segments (guestagent/backup/log-archive.ts's layout), in the local object store. */
async function removeLogArchive(ctx: TaskContext, instanceId: string): Promise<void> {
  if (ctx.config.compute_driver !== 'local') return; // only local guests archive (README, point-in-time restore)
  const store = ctx.objectStore({ driver: 'local' });
  const container = ctx.config.log_archive_container;
  for (const c of [container, `${container}_segments`]) {
    for (const o of await store.listObjects(c, archivedLogsPrefix(instanceId))) await store.deleteObject(c, o.name);
  }
}

async function retry(what: string, attempts: number, fn: () => Promise<void>): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 1000 * (i + 1)));
    }
  }
  throw new Error(`${what}: ${(last as Error).message}`);
}

export async function teardownResources(ctx: TaskContext, r: Resources, log: Logger): Promise<string[]> {
  const leftovers: string[] = [];
  if (r.serverId) {
    try {
      await retry('server', 3, async () => {
        await ctx.compute.deleteServer(r.serverId!);
        await waitForServerGone(ctx, r.serverId!, Date.now() + ctx.config.server_delete_time_out * 1000);
      });
    } catch (err) {
      leftovers.push(`server ${r.serverId}: ${(err as Error).message}`);
    }
  }
  if (r.volumeId) {
    try {
      await retry('volume', 5, () => ctx.volumes.deleteVolume(r.volumeId!));
    } catch (err) {
      leftovers.push(`volume ${r.volumeId}: ${(err as Error).message}`);
    }
  }
  if (r.securityGroup) {
    try {
      await retry('security group', 3, () => ctx.network.deleteSecurityGroup(r.securityGroup!));
    } catch (err) {
      leftovers.push(`security group ${r.securityGroup}: ${(err as Error).message}`);
    }
  }
  if (r.busOf && ctx.guestBus) {
    try {
      await retry('bus user', 3, () => ctx.guestBus!.accounts.removeGuest(r.busOf!));
    } catch (err) {
      leftovers.push(`bus user of ${r.busOf}: ${(err as Error).message}`);
    }
  }
  if (r.logArchiveOf) {
    // logged, not a leftover: it holds nothing the instance's user could reach or retry
    await removeLogArchive(ctx, r.logArchiveOf).catch((err) => log.warn({ err: (err as Error).message }, 'could not remove the archived transaction logs'));
  }
  if (leftovers.length) log.error({ leftovers }, 'resources left behind');
  return leftovers;
}

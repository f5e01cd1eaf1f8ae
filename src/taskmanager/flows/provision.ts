// Provision: volume → security group → server with the guest's config → wait for the server →
// prepare the guest → wait for it to report the database ready. Each created resource's id is
// saved as soon as it exists, so a resumed flow reuses it and a failed flow deletes it.
import { randomBytes } from 'node:crypto';
import { Tasks, type InstanceTask } from '../../common/instance-tasks.js';
import { configSection } from '../../common/config/schema.js';
import { encryptedKeyOf, recordFault, setTask, updateInstance } from '../../db/instances.js';
import { getBackupRow } from '../../db/backups.js';
import { configurationOverrides } from '../../db/configurations.js';
import type { CreateInstanceArgs } from '../../rpc/contracts/taskmanager.js';
import type { BackupStorage, RestoreInfo } from '../../rpc/contracts/common.js';
import type { FlowDefinition, Step, StepContext } from '../flow.js';
import type { ReplicationSource } from '../../rpc/contracts/guest.js';
import { FlowTimeoutError } from '../flow.js';
import { datastorePortsSection } from '../config.js';
import { guestOf, type TaskContext } from '../context.js';
import { renderGuestConfig } from '../guest-config.js';
import { GuestFailedError, waitForGuestReady, waitForServer } from '../waits.js';
import { consoleTail, faultDetails, faultMessage } from '../faults.js';
import { teardownResources } from './teardown.js';
import { sendUsageEvent } from '../usage-events.js';
import { noticeIn } from '../flow-notices.js';

export interface ProvisionData {
  /** The create call's arguments with users' passwords sealed (SecretBox). */
  args: Omit<CreateInstanceArgs, 'users' | 'restore_storage'> & { sealedUsers: string; sealedStorage?: string | null };
  tenantId: string;
  volumeId?: string;
  securityGroup?: string;
  serverId?: string;
  preparedAt?: string;
  /** a replica: where its source's engine is and the replication account (sealed), for prepare's snapshot */
  sealedMaster?: string | null;
}

export const PROVISION = 'provision';

/**
 * What the guest needs to restore a backup before its engine first starts (Trove's backup_info):
 * the backup and, for an incremental one, its chain back to the full backup (full first).
 */
async function restoreChainOf(ctx: TaskContext, backupId: string): Promise<RestoreInfo[]> {
  const chain: RestoreInfo[] = [];
  for (let id: string | null = backupId; id;) {
    const b = await getBackupRow(ctx.db, id);
    if (!b || b.deleted || b.state !== 'COMPLETED' || !b.location) {
      throw new Error(
        id === backupId
          ? `The backup ${backupId} is no longer available to restore from.`
          : `The backup ${id}, which the backup ${backupId} builds on, is no longer available to restore from.`,
      );
    }
    if (chain.some((c) => c.id === b.id)) throw new Error(`The backup ${backupId} has a cycle in its parents.`);
    chain.unshift({
      id: b.id,
      instance_id: b.instance_id,
      location: b.location,
      type: b.backup_type ?? 'full',
      checksum: b.checksum,
      storage_driver: b.storage_driver,
    });
    id = b.parent_id;
  }
  return chain;
}

const FAULTS: Record<string, InstanceTask> = {
  volume: Tasks.BUILDING_ERROR_VOLUME,
  security_group: Tasks.BUILDING_ERROR_SEC_GROUP,
  server: Tasks.BUILDING_ERROR_SERVER,
  wait_server: Tasks.BUILDING_ERROR_SERVER,
  prepare: Tasks.BUILDING_ERROR_SERVER,
  wait_guest: Tasks.BUILDING_ERROR_TIMEOUT_GA,
};

export function provisionFlow(ctx: TaskContext): FlowDefinition<ProvisionData> {
  return {
    name: PROVISION,
    steps: provisionSteps(ctx),
    done: (s) => finishProvision(ctx, s),
    fail: (s, error, step) => failProvision(ctx, s, error, step, FAULTS[step] ?? Tasks.BUILDING_ERROR_SERVER),
  };
}

export async function finishProvision(ctx: TaskContext, s: StepContext<ProvisionData>): Promise<void> {
  await setTask(ctx.db, s.instanceId, Tasks.NONE);
  s.log.info('instance is ACTIVE');
  await sendUsageEvent(ctx, s.instanceId, 'create', {}, noticeIn(s.data)?.context);
}

/** Removes what the flow created and leaves the instance in `task` with a fault naming the step. */
export async function failProvision(
  ctx: TaskContext,
  s: StepContext<ProvisionData>,
  error: Error,
  step: string,
  task: InstanceTask,
  extraCleanup: string[] = [],
): Promise<void> {
  const what =
    error instanceof FlowTimeoutError
      ? `timed out (${step})`
      : error instanceof GuestFailedError
        ? `failed: ${error.message}`
        : `failed in step ${step}: ${error.message}`;
  // the guest's log goes with the server: its tail is read first, into the fault's details
  const console = await consoleTail(ctx, s.data.serverId);
  const leftovers = [
    ...(await teardownResources(
      ctx,
      { serverId: s.data.serverId, volumeId: s.data.volumeId, securityGroup: s.data.securityGroup, busOf: s.instanceId, logArchiveOf: s.instanceId },
      s.log,
    )),
    ...extraCleanup,
  ];
  const details = faultDetails(
    error,
    console,
    leftovers.map((l) => `cleanup: ${l}`),
  );
  await recordFault(ctx.db, s.instanceId, faultMessage(`Building the instance ${what}`), details);
  // Ids stay recorded only for what could not be removed, so a delete retries exactly that.
  await setTask(ctx.db, s.instanceId, task, undefined, {
    server_status: 'ERROR',
    ...(leftovers.some((l) => l.startsWith('server')) ? {} : { compute_instance_id: null }),
    ...(leftovers.some((l) => l.startsWith('volume')) ? {} : { volume_id: null }),
  });
}

/** volume → security group → server → wait → prepare (restoring backup_id, replicating from sealedMaster) → wait for the guest. */
export function provisionSteps(ctx: TaskContext): Step<ProvisionData>[] {
  const deadlineOf = (s: StepContext<ProvisionData>, seconds: number) => Math.min(s.deadline, Date.now() + seconds * 1000);
  return [
    {
      name: 'volume',
      run: async (s) => {
        const a = s.data.args;
        if (!a.volume_size) return;
        const v = await ctx.volumes.ensureVolume(`trove-${s.instanceId}`, a.volume_size, a.volume_type, a.availability_zone);
        s.data.volumeId = v.id;
        await s.save();
        await updateInstance(ctx.db, s.instanceId, { volume_id: v.id });
        const deadline = deadlineOf(s, ctx.config.volume_time_out);
        for (let vol = v; vol.status !== 'available'; vol = await ctx.volumes.getVolume(v.id)) {
          if (vol.status === 'error') throw new Error(`The volume ${v.id} went to error.`);
          if (Date.now() > deadline) throw new Error(`The volume ${v.id} was not available in time (${vol.status}).`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      },
    },
    {
      name: 'security_group',
      run: async (s) => {
        const ports = configSection(ctx.raw, s.data.args.datastore_manager, datastorePortsSection).tcp_ports;
        const cidrs = s.data.args.access.allowed_cidrs.length ? s.data.args.access.allowed_cidrs : ['0.0.0.0/0'];
        const rules = ports.flatMap((p) => cidrs.map((cidr) => ({ protocol: 'tcp' as const, port: Number(p), cidr })));
        s.data.securityGroup = await ctx.network.ensureSecurityGroup(`SecGroup_${s.instanceId}`, rules);
        await s.save();
      },
    },
    {
      name: 'server',
      run: async (s) => {
        const a = s.data.args;
        // resumed after a taskmanager died between creating the server and recording it: that server
        // is the instance's, and its guest holds the bus password written then (a new one would lock it out)
        const made = await ctx.compute.findServerForInstance(s.instanceId);
        if (made) {
          s.data.serverId = made.id;
          await s.save();
          await updateInstance(ctx.db, s.instanceId, { compute_instance_id: made.id, server_status: made.status });
          return;
        }
        const flavor = await ctx.compute.getFlavor(a.flavor_id);
        // the guest's own bus user, a new password each time its config is written (kept nowhere else)
        let transportUrl = ctx.messaging.transport_url;
        if (ctx.guestBus) {
          const password = randomBytes(24).toString('base64url');
          await ctx.guestBus.accounts.ensureGuest(s.instanceId, password);
          transportUrl = ctx.guestBus.transportUrl(s.instanceId, password);
        }
        const server = await ctx.compute.createServer({
          instanceId: s.instanceId,
          name: a.name,
          flavor,
          imageId: a.image_id ?? '',
          guestConfig: renderGuestConfig(
            {
              instanceId: s.instanceId,
              tenantId: s.data.tenantId,
              manager: a.datastore_manager,
              version: a.ds_version,
              reportInterval: ctx.config.report_interval,
              backupKey: ctx.config.backup_aes_cbc_key || null,
              rpcKey: ctx.secure.instanceKey(await encryptedKeyOf(ctx.db, s.instanceId)),
            },
            ctx.messaging,
            transportUrl,
          ),
          volumeId: s.data.volumeId,
          volumeSizeGb: a.volume_size ?? undefined,
          availabilityZone: a.availability_zone ?? undefined,
          networkIds: a.nics.map((n) => n.network_id).filter((x): x is string => Boolean(x)),
          securityGroupIds: s.data.securityGroup ? [s.data.securityGroup] : [],
        });
        s.data.serverId = server.id;
        await s.save();
        await updateInstance(ctx.db, s.instanceId, { compute_instance_id: server.id, server_status: server.status });
      },
    },
    {
      name: 'wait_server',
      run: async (s) => {
        const server = await waitForServer(ctx, s.data.serverId!, ['ACTIVE'], s.deadline);
        await updateInstance(ctx.db, s.instanceId, { server_status: server.status, addresses: JSON.stringify(server.addresses) });
      },
    },
    {
      name: 'prepare',
      run: async (s) => {
        const a = s.data.args;
        const users = JSON.parse(ctx.secrets.open(s.data.args.sealedUsers)) as CreateInstanceArgs['users'];
        const flavor = await ctx.compute.getFlavor(a.flavor_id);
        // the group's values are in the engine's configuration from its first start: no restart
        const overrides = await configurationOverrides(ctx.db, a.configuration_id);
        const chain = a.backup_id ? await restoreChainOf(ctx, a.backup_id) : [];
        const storage = a.sealedStorage ? (JSON.parse(ctx.secrets.open(a.sealedStorage)) as BackupStorage) : null;
        s.data.preparedAt = new Date().toISOString();
        await s.save();
        await ctx.rpc.prepareTopic(`guestagent.${s.instanceId}`);
        await guestOf(ctx, s.instanceId).prepare({
          memory_mb: flavor.ram,
          packages: a.packages,
          databases: a.databases.map((d) => ({ _name: d.name, _character_set: d.character_set ?? null, _collate: d.collate ?? null })),
          users: users.map((u) => ({ _name: u.name, _password: u.password, _host: u.host, _databases: u.databases.map((d) => ({ _name: d })) })),
          root_password: a.root_password,
          overrides,
          ds_version: a.ds_version,
          backup_info: chain.at(-1) ?? null,
          backup_chain: chain.length > 1 ? chain : null,
          restore_to: a.restore_to ?? null,
          storage,
          snapshot: s.data.sealedMaster ? { master: JSON.parse(ctx.secrets.open(s.data.sealedMaster)) as ReplicationSource } : null,
        });
      },
    },
    {
      name: 'wait_guest',
      run: async (s) => {
        await waitForGuestReady(ctx, s.instanceId, new Date(s.data.preparedAt ?? 0), s.deadline, { readConsole: true });
      },
    },
  ];
}

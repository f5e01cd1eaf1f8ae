// Provision of a replica (Trove's create_replication_slave): the source's guest makes a
// replication account for it (get_replication_snapshot), the backup machinery takes a full backup
// of the source (the snapshot, in the store the user's backups use), then the replica is
// provisioned as a restore of that backup whose prepare names the source (snapshot.master); once
// the replica is ACTIVE the snapshot backup is deleted. A failure leaves the replica in ERROR
// (Build error: Replica.) with nothing behind: server, volume, snapshot backup, and the account on
// the source. The account's password is kept sealed in the flow state; a resumed first step asks
// the source again (a new password).
import { randomUUID } from 'node:crypto';
import { Tasks } from '../../common/instance-tasks.js';
import { getInstanceRow, parseAddresses, type InstanceRow } from '../../db/instances.js';
import { containerFor, getBackupRow, newBackupInfo, reserveBackup, RUNNING_BACKUP_STATES, setBackupState, type NewBackup } from '../../db/backups.js';
import { getVersionById } from '../../db/datastores.js';
import { recordedFlow } from '../../db/flows.js';
import type { BackupStorage } from '../../rpc/contracts/common.js';
import type { ReplicationSource } from '../../rpc/contracts/guest.js';
import type { FlowDefinition, StepContext } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { deleteBackup } from '../backup-delete.js';
import { WaitError } from '../waits.js';
import { BACKUP, type BackupData } from './backup.js';
import { failProvision, finishProvision, provisionSteps, type ProvisionData } from './provision.js';

export const PROVISION_REPLICA = 'provision_replica';

export interface ReplicaData extends ProvisionData {
  sourceId: string;
  /** the source's guest was asked for an account: it is removed if the replica fails */
  accountRequested?: boolean;
  /** the snapshot backup's id, chosen before its row is written */
  snapshotId?: string;
}

/** A release or a system backup needs no limits: the snapshot is counted while it exists, never refused. */
const UNLIMITED = { instances: -1, ram: -1, volumes: -1, backups: -1 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The address a replica reaches its source's engine on: its private address (the compute service's). */
export function sourceHost(row: Pick<InstanceRow, 'id' | 'addresses'>): string {
  const addresses = parseAddresses(row as InstanceRow);
  const a = addresses.find((x) => x.type === 'private') ?? addresses[0];
  if (!a) throw new Error(`The replica source ${row.id} has no address.`);
  return a.address;
}

export function replicaFlow(ctx: TaskContext): FlowDefinition<ReplicaData> {
  const high = { timeoutMs: ctx.config.agent_call_high_timeout * 1000 };
  const source = async (id: string): Promise<InstanceRow> => {
    const r = await getInstanceRow(ctx.db, id, { live: true });
    if (!r) throw new Error(`The replica source ${id} is gone.`);
    return r;
  };
  const storageOf = (s: StepContext<ReplicaData>): BackupStorage => {
    if (!s.data.args.sealedStorage) throw new Error('No backup storage was given for the snapshot of the source.');
    return JSON.parse(ctx.secrets.open(s.data.args.sealedStorage)) as BackupStorage;
  };

  /** Deletes the snapshot backup (after a running one ended); what is left behind, if anything. */
  async function dropSnapshot(s: StepContext<ReplicaData>): Promise<string | undefined> {
    const id = s.data.snapshotId;
    if (!id) return undefined;
    const live = async () => {
      const b = await getBackupRow(ctx.db, id);
      return b && !b.deleted ? b : undefined;
    };
    const running = async () => {
      const b = await live();
      return b !== undefined && (RUNNING_BACKUP_STATES as readonly string[]).includes(b.state);
    };
    // a snapshot still streaming: let the source's guest finish (or fail) so nothing is written after the delete
    for (const until = Date.now() + ctx.config.agent_call_high_timeout * 1000; (await running()) && Date.now() < until;) await sleep(1000);
    await setBackupState(ctx.db, id, 'FAILED', RUNNING_BACKUP_STATES);
    if (!(await live())) return undefined;
    await deleteBackup(ctx, id, storageOf(s));
    const left = await live();
    return left ? `snapshot backup ${id}: ${left.state}` : undefined;
  }

  return {
    name: PROVISION_REPLICA,
    steps: [
      {
        name: 'replication_snapshot',
        run: async (s) => {
          const src = await source(s.data.sourceId);
          const host = sourceHost(src);
          s.data.accountRequested = true;
          await s.save();
          const snap = await guestOf(ctx, src.id).get_replication_snapshot({ snapshot_info: { replica_id: s.instanceId }, replica_source_config: null }, high);
          const master: ReplicationSource = { host, port: snap.port, user: snap.replication_user.name, password: snap.replication_user.password };
          s.data.sealedMaster = ctx.secrets.seal(JSON.stringify(master));
          await s.save();
        },
      },
      {
        name: 'snapshot_backup',
        run: async (s) => {
          const src = await source(s.data.sourceId);
          const storage = storageOf(s);
          if (!s.data.snapshotId) {
            s.data.snapshotId = randomUUID();
            await s.save();
          }
          const record: NewBackup = {
            id: s.data.snapshotId,
            name: `Replication snapshot for ${s.instanceId}`,
            description: 'Backup image used to initialize replication slave',
            tenantId: s.data.tenantId,
            instanceId: src.id,
            parentId: null,
            datastoreVersionId: src.datastore_version_id,
            storageDriver: storage.driver,
            backupType: 'full',
          };
          if (!(await getBackupRow(ctx.db, record.id))) await reserveBackup(ctx.db, record, UNLIMITED);
          const version = await getVersionById(ctx.db, src.datastore_version_id);
          if (!version) throw new Error(`The datastore version ${src.datastore_version_id} of the source is gone.`);
          const container = await containerFor(ctx.db, s.data.tenantId, src.id, ctx.config.backup_swift_container);
          const data: BackupData = { backupInfo: newBackupInfo(record, version, container), sealedStorage: s.data.args.sealedStorage! };
          // the source runs one flow at a time: wait while it is busy (e.g. another replica's snapshot)
          const until = Math.min(s.deadline, Date.now() + ctx.config.state_change_wait_time * 1000);
          for (;;) {
            if (await ctx.runner.begin(BACKUP, src.id, data, ctx.config.backup_timeout)) return;
            const state = await recordedFlow(ctx.db, src.id);
            if (state?.flow === BACKUP && (state.data as Partial<BackupData> | undefined)?.backupInfo?.id === record.id) return; // resumed: already started
            const b = await getBackupRow(ctx.db, record.id);
            if (b && b.state !== 'NEW') return; // started, and its flow already ended
            if (Date.now() > until) throw new WaitError(`The source ${src.id} stayed busy with another task; no snapshot could be taken.`);
            await sleep(2000);
          }
        },
      },
      {
        name: 'wait_snapshot',
        run: async (s) => {
          const id = s.data.snapshotId!;
          const until = Math.min(s.deadline, Date.now() + ctx.config.backup_timeout * 1000);
          for (;;) {
            const b = await getBackupRow(ctx.db, id);
            if (!b || b.deleted) throw new WaitError(`The snapshot backup ${id} of the source was deleted.`);
            if (b.state === 'COMPLETED') break;
            if (b.state === 'FAILED') throw new WaitError(`The snapshot backup ${id} of the source failed.`);
            if (Date.now() > until) throw new WaitError(`The snapshot backup ${id} of the source did not finish in time.`);
            await sleep(1000);
          }
          // the replica is provisioned as a restore of the snapshot
          s.data.args.backup_id = id;
          await s.save();
        },
      },
      ...provisionSteps(ctx),
      {
        name: 'drop_snapshot',
        run: async (s) => {
          const left = await dropSnapshot(s);
          if (left) s.log.warn({ leftover: left }, 'the snapshot backup could not be deleted');
        },
      },
    ],
    done: (s) => finishProvision(ctx, s),
    fail: async (s, error, step) => {
      const left: string[] = [];
      const snapshot = await dropSnapshot(s).catch((err: Error) => `snapshot backup ${s.data.snapshotId}: ${err.message}`);
      if (snapshot) left.push(snapshot);
      if (s.data.accountRequested) {
        await guestOf(ctx, s.data.sourceId)
          .cleanup_source_on_replica_detach({ replica_info: { replica_id: s.instanceId } }, high)
          .catch((err: Error) => left.push(`replication account on ${s.data.sourceId}: ${err.message}`));
      }
      await failProvision(ctx, s, error, step, Tasks.BUILDING_ERROR_REPLICA, left);
    },
  };
}

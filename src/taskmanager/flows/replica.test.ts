// The replica flows with a real FlowRunner on SQLite and recorded guests/cloud: a replica is the
// source's account + a snapshot backup of the source (the backup flow) + a restore of it whose
// prepare names the source, then the snapshot is deleted; every failure ends in Build error:
// Replica. with nothing left behind; a resumed flow goes on from its recorded step; detach and
// delete of a replica clean the account on the source; the replication password is never in clear
// in the database nor in a log line.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createThrowawaySqlite, type ThrowawayDb } from '../../../test/helpers/throwaway-db.js';
import { createLogger } from '../../common/log.js';
import { SecretBox } from '../../common/secret-box.js';
import { Tasks } from '../../common/instance-tasks.js';
import { ServiceStatuses } from '../../common/service-status.js';
import { ComputeNotFoundError } from '../../clients/compute.js';
import { FlowRunner } from '../flow.js';
import type { TaskContext } from '../context.js';
import { taskmanagerDefaults } from '../config.js';
import { registerFlows, taskmanagerHandlers } from '../manager.js';
import { PROVISION_REPLICA } from './replica.js';

const PASSWORD = 'Repl-S3cret-pw-91';
const P = 'proj-r';

interface Call {
  instance: string;
  verb: string;
  args: any;
}

interface Fixture {
  tdb: ThrowawayDb;
  ctx: TaskContext;
  calls: Call[];
  logs: string[];
  /** per verb: what the recorded guest does (default: nothing) */
  guest: Record<string, (instance: string, args: any) => Promise<unknown>>;
  deletedServers: string[];
  deletedObjects: string[];
  version: string;
  flowStates: string[];
}

async function fixture(t: { teardown(fn: () => Promise<void> | void): void }): Promise<Fixture> {
  const tdb = await createThrowawaySqlite();
  const logs: string[] = [];
  const log = createLogger('test', { destination: new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }), level: 'debug' });
  const runner = new FlowRunner({ db: tdb.db, log, owner: 'tm-test', leaseSeconds: 5 });
  t.teardown(async () => {
    await runner.idle();
    await tdb.drop();
  });
  const ds = randomUUID();
  const version = randomUUID();
  await tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: version });
  await tdb.db('datastore_versions').insert({ id: version, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', active: true });
  const calls: Call[] = [];
  const deletedServers: string[] = [];
  const deletedObjects: string[] = [];
  const flowStates: string[] = [];
  const f: Fixture = { tdb, ctx: undefined as unknown as TaskContext, calls, logs, guest: {}, deletedServers, deletedObjects, version, flowStates };
  // the recorded guests: get_replication_snapshot makes an account, create_backup completes as the
  // guest + conductor would, prepare reports healthy
  f.guest.get_replication_snapshot = async () => ({ port: 3306, replication_user: { name: 'repl_x', password: PASSWORD } });
  f.guest.create_backup = async (_i, a) => {
    setTimeout(() => void tdb.db('backups').where({ id: a.backup_info.id }).update({ state: 'COMPLETED', location: `loc/${a.backup_info.id}`, checksum: 'c', size: 0.1 }).then(() => undefined), 100);
    return null;
  };
  f.guest.prepare = async (i) => {
    for (const r of await tdb.db('instances').whereNotNull('flow_state').select('flow_state')) flowStates.push(r.flow_state);
    setTimeout(() => void tdb.db('service_statuses').where({ instance_id: i }).update({ status_id: ServiceStatuses.HEALTHY.code, updated_at: new Date(Date.now() + 500) }).then(() => undefined), 100);
    return null;
  };
  const servers = new Map<string, string>();
  f.ctx = {
    db: tdb.db,
    log,
    raw: {},
    config: taskmanagerDefaults.parse({ compute_driver: 'local', agent_call_high_timeout: '2', state_change_wait_time: '5' }),
    messaging: { transport_url: 'memory://', control_exchange: 'trove', rpc_response_timeout: 60 },
    secrets: new SecretBox('k'),
    secure: { guest: () => undefined, instanceKey: () => null },
    runner,
    rpc: {
      prepareTopic: async () => undefined,
      stub: (_c: unknown, topic: string) =>
        new Proxy({}, {
          get: (_t, verb: string) => verb === 'then' ? undefined : async (args: unknown) => {
            const instance = topic.replace('guestagent.', '');
            calls.push({ instance, verb, args });
            const fn = f.guest[verb];
            return fn ? fn(instance, args) : null;
          },
        }),
    },
    compute: {
      getFlavor: async (id: string) => ({ id, name: id, ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }),
      createServer: async (spec: { instanceId: string }) => {
        servers.set(`srv-${spec.instanceId}`, 'ACTIVE');
        return { id: `srv-${spec.instanceId}`, status: 'ACTIVE', addresses: [] };
      },
      getServer: async (id: string) => {
        if (!servers.has(id)) throw new ComputeNotFoundError('server', id);
        return { id, status: servers.get(id), addresses: [{ address: '10.0.0.9', type: 'private' }] };
      },
      findServerForInstance: async () => undefined,
      deleteServer: async (id: string) => {
        servers.delete(id);
        deletedServers.push(id);
      },
    },
    volumes: {
      ensureVolume: async (name: string) => ({ id: `vol-${name}`, status: 'available' }),
      getVolume: async (id: string) => ({ id, status: 'available' }),
      findVolume: async () => undefined,
      deleteVolume: async () => undefined,
    },
    network: { ensureSecurityGroup: async (name: string) => name, deleteSecurityGroup: async () => undefined },
    objectStore: () => ({
      parseLocation: async (loc: string) => ({ container: 'c', name: loc }),
      deleteObject: async (_c: string, name: string) => void deletedObjects.push(name),
    }),
  } as unknown as TaskContext;
  registerFlows(f.ctx);
  return f;
}

async function instance(f: Fixture, o: { slaveOf?: string | null; task?: number; server?: string | null } = {}): Promise<string> {
  const id = randomUUID();
  await f.tdb.db('instances').insert({
    id, name: 'db', tenant_id: P, flavor_id: 'ds1G', volume_size: 1, task_id: o.task ?? Tasks.NONE.code, task_description: 'x',
    server_status: o.server === undefined ? 'ACTIVE' : o.server, datastore_version_id: f.version, slave_of_id: o.slaveOf ?? null,
    compute_instance_id: o.server === null ? null : `srv-${id}`,
    addresses: JSON.stringify([{ address: '10.0.0.5', type: 'private', network: 'n' }]), deleted: false, created: new Date(), updated: new Date(),
  });
  await f.tdb.db('service_statuses').insert({ id: randomUUID(), instance_id: id, status_id: o.server === null ? ServiceStatuses.NEW.code : ServiceStatuses.HEALTHY.code, status_description: 'x', updated_at: new Date() });
  return id;
}

async function createReplica(f: Fixture, sourceId: string): Promise<string> {
  const id = await instance(f, { slaveOf: sourceId, task: Tasks.BUILDING.code, server: null });
  await taskmanagerHandlers(f.ctx).create_instance(
    {
    instance_id: id, name: 'replica', flavor_id: 'ds1G', image_id: 'img', image_tags: [], databases: [], users: [], datastore_manager: 'mariadb',
    packages: [], volume_size: 1, volume_type: null, availability_zone: null, root_password: null, nics: [], configuration_id: null, locality: null,
    access: { is_public: false, allowed_cidrs: [] }, ds_version: '10.11', backup_id: null, restore_storage: { driver: 'local' }, slave_of_id: sourceId,
    },
    {} as never,
  );
  return id;
}

async function settle(f: Fixture, id: string): Promise<any> {
  for (const until = Date.now() + 30_000; Date.now() < until; ) {
    const r = await f.tdb.db('instances').where({ id }).first();
    if (!r.flow_state) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  const steps = f.logs.map((l) => JSON.parse(l) as { msg: string; step?: string; err?: string; flow?: string }).map((l) => `${l.flow ?? ''} ${l.step ?? ''} ${l.msg} ${l.err ?? ''}`);
  throw new Error(`the flow did not end:\n${steps.slice(-12).join('\n')}`);
}

const fault = async (f: Fixture, id: string) => (await f.tdb.db('instance_faults').where({ instance_id: id }).orderBy('created', 'desc').first())?.message as string | undefined;

test('a replica: account on the source, snapshot backup of the source, restore with snapshot.master, snapshot deleted, ACTIVE', async (t) => {
  const f = await fixture(t);
  const source = await instance(f);
  const replica = await createReplica(f, source);
  const r = await settle(f, replica);
  t.is(r.task_id, Tasks.NONE.code, (await fault(f, replica)) ?? '');
  t.is(r.slave_of_id, source);
  const snap = f.calls.find((c) => c.verb === 'get_replication_snapshot')!;
  t.is(snap.instance, source);
  t.deepEqual(snap.args.snapshot_info, { replica_id: replica });
  const backup = f.calls.find((c) => c.verb === 'create_backup')!;
  t.is(backup.instance, source);
  t.is(backup.args.backup_info.name, `Replication snapshot for ${replica}`);
  t.is(backup.args.backup_info.instance_id, source);
  t.is(backup.args.backup_info.backup_type, 'full');
  t.deepEqual(backup.args.storage, { driver: 'local' });
  const prepare = f.calls.find((c) => c.verb === 'prepare')!;
  t.is(prepare.instance, replica);
  t.is(prepare.args.backup_info.id, backup.args.backup_info.id);
  t.deepEqual(prepare.args.snapshot, { master: { host: '10.0.0.5', port: 3306, user: 'repl_x', password: PASSWORD } });
  t.deepEqual(prepare.args.storage, { driver: 'local' });
  // the snapshot is gone: row deleted, object removed, the quota given back
  const row = await f.tdb.db('backups').where({ id: backup.args.backup_info.id }).first();
  t.truthy(row.deleted);
  t.is(row.tenant_id, P);
  t.deepEqual(f.deletedObjects, [`loc/${backup.args.backup_info.id}`]);
  t.is((await f.tdb.db('quota_usages').where({ tenant_id: P, resource: 'backups' }).first()).in_use, 0);
  t.false(f.calls.some((c) => c.verb === 'cleanup_source_on_replica_detach'));
  // the password: sealed in the flow state, never in a log line
  t.true(f.flowStates.length > 0);
  for (const s of f.flowStates) t.false(s.includes(PASSWORD));
  t.false(f.logs.join('').includes(PASSWORD));
});

test('the source refuses the account (guest without replication): Build error: Replica., account cleanup asked, no backup left', async (t) => {
  const f = await fixture(t);
  f.guest.get_replication_snapshot = async () => {
    const e = new Error('Replication is not supported');
    e.name = 'NotSupportedError';
    throw e;
  };
  const source = await instance(f);
  const replica = await createReplica(f, source);
  const r = await settle(f, replica);
  t.is(r.task_id, Tasks.BUILDING_ERROR_REPLICA.code);
  t.is(r.task_description, 'Build error: Replica.');
  t.regex((await fault(f, replica))!, /replication_snapshot: Replication is not supported/);
  t.deepEqual(f.calls.filter((c) => c.verb === 'cleanup_source_on_replica_detach').map((c) => [c.instance, c.args]), [[source, { replica_info: { replica_id: replica } }]]);
  t.is((await f.tdb.db('backups').where({ deleted: false })).length, 0);
  t.false(f.calls.some((c) => c.verb === 'create_backup'));
});

test('the snapshot backup fails: Build error: Replica., the failed snapshot deleted, the account removed, no server', async (t) => {
  const f = await fixture(t);
  f.guest.create_backup = async (_i, a) => {
    setTimeout(() => void f.tdb.db('backups').where({ id: a.backup_info.id }).update({ state: 'FAILED' }).then(() => undefined), 100);
    return null;
  };
  const source = await instance(f);
  const replica = await createReplica(f, source);
  const r = await settle(f, replica);
  t.is(r.task_id, Tasks.BUILDING_ERROR_REPLICA.code);
  t.regex((await fault(f, replica))!, /wait_snapshot: The snapshot backup .* failed/);
  t.is((await f.tdb.db('backups').where({ deleted: false })).length, 0);
  t.true(f.calls.some((c) => c.verb === 'cleanup_source_on_replica_detach'));
  t.false(f.calls.some((c) => c.verb === 'prepare'));
});

test('the replica never gets ready: Build error: Replica., server torn down, snapshot deleted, account removed', async (t) => {
  const f = await fixture(t);
  f.guest.prepare = async () => {
    throw new Error('prepare refused');
  };
  const source = await instance(f);
  const replica = await createReplica(f, source);
  const r = await settle(f, replica);
  t.is(r.task_id, Tasks.BUILDING_ERROR_REPLICA.code);
  t.regex((await fault(f, replica))!, /step prepare: prepare refused/);
  t.deepEqual(f.deletedServers, [`srv-${replica}`]);
  t.is(r.compute_instance_id, null);
  t.is((await f.tdb.db('backups').where({ deleted: false })).length, 0);
  t.true(f.calls.some((c) => c.verb === 'cleanup_source_on_replica_detach' && c.instance === source));
});

test('a source busy with another flow: the snapshot waits for it, then goes on', async (t) => {
  const f = await fixture(t);
  const source = await instance(f);
  await f.tdb.db('instances').where({ id: source }).update({ flow_state: JSON.stringify({ flow: 'restart', step: 9, data: {}, deadline: Date.now() + 60_000 }), flow_owner: 'other', flow_lease_until: new Date(Date.now() + 60_000) });
  const replica = await createReplica(f, source);
  await new Promise((res) => setTimeout(res, 1500));
  t.false(f.calls.some((c) => c.verb === 'create_backup'), 'no backup while the source is busy');
  await f.tdb.db('instances').where({ id: source }).update({ flow_state: null, flow_owner: null, flow_lease_until: null });
  const r = await settle(f, replica);
  t.is(r.task_id, Tasks.NONE.code, (await fault(f, replica)) ?? '');
});

test('a flow recorded at wait_snapshot (taskmanager restarted) resumes from there', async (t) => {
  const f = await fixture(t);
  const source = await instance(f);
  const replica = await instance(f, { slaveOf: source, task: Tasks.BUILDING.code, server: null });
  const snapshotId = randomUUID();
  await f.tdb.db('backups').insert({ id: snapshotId, name: `Replication snapshot for ${replica}`, tenant_id: P, instance_id: source, state: 'COMPLETED', location: `loc/${snapshotId}`, backup_type: 'full', datastore_version_id: f.version, storage_driver: 'local', deleted: false, created: new Date(), updated: new Date() });
  const box = new SecretBox('k');
  const data = {
    args: {
      instance_id: replica, name: 'replica', flavor_id: 'ds1G', image_id: 'img', image_tags: [], databases: [], datastore_manager: 'mariadb', packages: [], volume_size: 1,
      volume_type: null, availability_zone: null, root_password: null, nics: [], configuration_id: null, locality: null, access: { is_public: false, allowed_cidrs: [] },
      ds_version: '10.11', backup_id: null, sealedUsers: box.seal('[]'), sealedStorage: box.seal(JSON.stringify({ driver: 'local' })),
    },
    tenantId: P,
    sourceId: source,
    accountRequested: true,
    sealedMaster: box.seal(JSON.stringify({ host: '10.0.0.5', port: 3306, user: 'repl_x', password: PASSWORD })),
    snapshotId,
  };
  await f.tdb.db('instances').where({ id: replica }).update({ flow_state: JSON.stringify({ flow: PROVISION_REPLICA, step: 2, data, deadline: Date.now() + 60_000 }) });
  t.deepEqual(await f.ctx.runner.resumeAll(), [replica]);
  const r = await settle(f, replica);
  t.is(r.task_id, Tasks.NONE.code, (await fault(f, replica)) ?? '');
  t.false(f.calls.some((c) => c.verb === 'get_replication_snapshot' || c.verb === 'create_backup'), 'the done steps are not repeated');
  t.is(f.calls.find((c) => c.verb === 'prepare')!.args.backup_info.id, snapshotId);
  t.truthy((await f.tdb.db('backups').where({ id: snapshotId }).first()).deleted);
});

test('detach: the replica stops replicating, the source drops its account, the replica forgets its source', async (t) => {
  const f = await fixture(t);
  const source = await instance(f);
  const replica = await instance(f, { slaveOf: source, task: Tasks.DETACHING.code });
  await taskmanagerHandlers(f.ctx).detach_replica({ instance_id: replica }, {} as never);
  const r = await settle(f, replica);
  t.is(r.task_id, Tasks.NONE.code, (await fault(f, replica)) ?? '');
  t.is(r.slave_of_id, null);
  t.deepEqual(f.calls.map((c) => [c.instance, c.verb, c.args]), [
    [replica, 'detach_replica', { for_failover: false }],
    [source, 'cleanup_source_on_replica_detach', { replica_info: { replica_id: replica } }],
  ]);
});

test('detach with the source unreachable: detached anyway (best effort); with the replica refusing: ERROR with a fault, still a replica', async (t) => {
  const f = await fixture(t);
  const source = await instance(f);
  f.guest.cleanup_source_on_replica_detach = async () => {
    throw new Error('source guest timed out');
  };
  const one = await instance(f, { slaveOf: source, task: Tasks.DETACHING.code });
  await taskmanagerHandlers(f.ctx).detach_replica({ instance_id: one }, {} as never);
  const r1 = await settle(f, one);
  t.is(r1.task_id, Tasks.NONE.code);
  t.is(r1.slave_of_id, null);
  f.guest.detach_replica = async () => {
    throw new Error('engine refused');
  };
  const two = await instance(f, { slaveOf: source, task: Tasks.DETACHING.code });
  await taskmanagerHandlers(f.ctx).detach_replica({ instance_id: two }, {} as never);
  const r2 = await settle(f, two);
  t.is(r2.task_id, Tasks.ACTION_ERROR.code);
  t.is(r2.slave_of_id, source);
  t.regex((await fault(f, two))!, /Detaching the replica failed in step detach: engine refused/);
});

test('deleting a replica removes its account on the source', async (t) => {
  const f = await fixture(t);
  const source = await instance(f);
  const replica = await instance(f, { slaveOf: source, task: Tasks.DELETING.code });
  await taskmanagerHandlers(f.ctx).delete_instance({ instance_id: replica }, {} as never);
  const r = await settle(f, replica);
  t.truthy(r.deleted);
  t.deepEqual(f.calls.filter((c) => c.verb === 'cleanup_source_on_replica_detach').map((c) => [c.instance, c.args]), [[source, { replica_info: { replica_id: replica } }]]);
});

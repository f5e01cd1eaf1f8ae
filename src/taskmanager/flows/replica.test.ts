// The replica flows with a real FlowRunner on SQLite and recorded guests/cloud: a replica is the
// source's account + a snapshot backup of the source (the backup flow) + a restore of it whose
// prepare names the source, then the snapshot is deleted; every failure ends in Build error:
// Replica. with nothing left behind; a resumed flow goes on from its recorded step; detach and
// delete of a replica clean the account on the source; the replication password is never in clear
// in the database nor in a log line.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { SecretBox } from '../../common/secret-box.js';
import { Tasks } from '../../common/instance-tasks.js';
import { taskmanagerHandlers } from '../manager.js';
import { PROVISION_REPLICA } from './replica.js';
import { fault, fixture, instance, P, PASSWORD, settle, type Fixture } from '../../../test/helpers/taskmanager-fixture.js';

async function createReplica(f: Fixture, sourceId: string): Promise<string> {
  const id = await instance(f, { slaveOf: sourceId, task: Tasks.BUILDING.code, server: null });
  await taskmanagerHandlers(f.ctx).create_instance(
    {
      instance_id: id,
      name: 'replica',
      flavor_id: 'ds1G',
      image_id: 'img',
      image_tags: [],
      databases: [],
      users: [],
      datastore_manager: 'mariadb',
      packages: [],
      volume_size: 1,
      volume_type: null,
      availability_zone: null,
      root_password: null,
      nics: [],
      configuration_id: null,
      locality: null,
      access: { is_public: false, allowed_cidrs: [] },
      ds_version: '10.11',
      backup_id: null,
      restore_storage: { driver: 'local' },
      slave_of_id: sourceId,
    },
    {} as never,
  );
  return id;
}

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
  t.deepEqual(
    f.calls.filter((c) => c.verb === 'cleanup_source_on_replica_detach').map((c) => [c.instance, c.args]),
    [[source, { replica_info: { replica_id: replica } }]],
  );
  t.is((await f.tdb.db('backups').where({ deleted: false })).length, 0);
  t.false(f.calls.some((c) => c.verb === 'create_backup'));
});

test('the snapshot backup fails: Build error: Replica., the failed snapshot deleted, the account removed, no server', async (t) => {
  const f = await fixture(t);
  f.guest.create_backup = async (_i, a) => {
    setTimeout(
      () =>
        void f.tdb
          .db('backups')
          .where({ id: a.backup_info.id })
          .update({ state: 'FAILED' })
          .then(() => undefined),
      100,
    );
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
  await f.tdb
    .db('instances')
    .where({ id: source })
    .update({
      flow_state: JSON.stringify({ flow: 'restart', step: 9, data: {}, deadline: Date.now() + 60_000 }),
      flow_owner: 'other',
      flow_lease_until: new Date(Date.now() + 60_000),
    });
  const replica = await createReplica(f, source);
  await new Promise((res) => setTimeout(res, 1500));
  t.false(
    f.calls.some((c) => c.verb === 'create_backup'),
    'no backup while the source is busy',
  );
  await f.tdb.db('instances').where({ id: source }).update({ flow_state: null, flow_owner: null, flow_lease_until: null });
  const r = await settle(f, replica);
  t.is(r.task_id, Tasks.NONE.code, (await fault(f, replica)) ?? '');
});

test('a flow recorded at wait_snapshot (taskmanager restarted) resumes from there', async (t) => {
  const f = await fixture(t);
  const source = await instance(f);
  const replica = await instance(f, { slaveOf: source, task: Tasks.BUILDING.code, server: null });
  const snapshotId = randomUUID();
  await f.tdb.db('backups').insert({
    id: snapshotId,
    name: `Replication snapshot for ${replica}`,
    tenant_id: P,
    instance_id: source,
    state: 'COMPLETED',
    location: `loc/${snapshotId}`,
    backup_type: 'full',
    datastore_version_id: f.version,
    storage_driver: 'local',
    deleted: false,
    created: new Date(),
    updated: new Date(),
  });
  const box = new SecretBox('k');
  const data = {
    args: {
      instance_id: replica,
      name: 'replica',
      flavor_id: 'ds1G',
      image_id: 'img',
      image_tags: [],
      databases: [],
      datastore_manager: 'mariadb',
      packages: [],
      volume_size: 1,
      volume_type: null,
      availability_zone: null,
      root_password: null,
      nics: [],
      configuration_id: null,
      locality: null,
      access: { is_public: false, allowed_cidrs: [] },
      ds_version: '10.11',
      backup_id: null,
      sealedUsers: box.seal('[]'),
      sealedStorage: box.seal(JSON.stringify({ driver: 'local' })),
    },
    tenantId: P,
    sourceId: source,
    accountRequested: true,
    sealedMaster: box.seal(JSON.stringify({ host: '10.0.0.5', port: 3306, user: 'repl_x', password: PASSWORD })),
    snapshotId,
  };
  await f.tdb
    .db('instances')
    .where({ id: replica })
    .update({ flow_state: JSON.stringify({ flow: PROVISION_REPLICA, step: 2, data, deadline: Date.now() + 60_000 }) });
  t.deepEqual(await f.ctx.runner.resumeAll(), [replica]);
  const r = await settle(f, replica);
  t.is(r.task_id, Tasks.NONE.code, (await fault(f, replica)) ?? '');
  t.false(
    f.calls.some((c) => c.verb === 'get_replication_snapshot' || c.verb === 'create_backup'),
    'the done steps are not repeated',
  );
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
  t.deepEqual(
    f.calls.map((c) => [c.instance, c.verb, c.args]),
    [
      [replica, 'detach_replica', { for_failover: false }],
      [source, 'cleanup_source_on_replica_detach', { replica_info: { replica_id: replica } }],
    ],
  );
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
  t.deepEqual(
    f.calls.filter((c) => c.verb === 'cleanup_source_on_replica_detach').map((c) => [c.instance, c.args]),
    [[source, { replica_info: { replica_id: replica } }]],
  );
});

// The upgrade flow over recorded guests: the backup first (its failure stops everything), replicas
// before their source, a member's failure leaving the set on the versions it runs with a fault,
// and cloud mode's rebuild from the target version's image (and back when the guest fails).
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Tasks } from '../../common/instance-tasks.js';
import { taskmanagerHandlers } from '../manager.js';
import { fault, fixture, instance, settle, type Fixture } from '../../../test/helpers/taskmanager-fixture.js';
import { rebuildImage } from './upgrade.js';

async function target(f: Fixture, image: string | null = null): Promise<string> {
  const id = randomUUID();
  const ds = (await f.tdb.db('datastore_versions').where({ id: f.version }).first()).datastore_id;
  await f.tdb
    .db('datastore_versions')
    .insert({ id, datastore_id: ds, name: '10.11.19', version: '10.11.19', manager: 'mariadb', active: true, image_id: image });
  return id;
}

const upgrade = (f: Fixture, id: string, to: string) =>
  taskmanagerHandlers(f.ctx).upgrade({ instance_id: id, datastore_version_id: to, storage: { driver: 'local' } } as never, {} as never);
const versionOf = async (f: Fixture, id: string) => (await f.tdb.db('instances').where({ id }).first()).datastore_version_id as string;

test('a source and two replicas: the backup first, then the replicas (oldest first), the source last', async (t) => {
  const f = await fixture(t);
  const to = await target(f);
  const src = await instance(f, { task: Tasks.UPGRADING.code });
  const r1 = await instance(f, { slaveOf: src, task: Tasks.UPGRADING.code });
  await new Promise((r) => setTimeout(r, 20));
  const r2 = await instance(f, { slaveOf: src, task: Tasks.UPGRADING.code });
  f.guest.upgrade = async () => ({ version: '10.11.19-MariaDB' });
  await upgrade(f, src, to);
  const row = await settle(f, src);
  t.deepEqual(
    f.calls.filter((c) => ['create_backup', 'upgrade'].includes(c.verb)).map((c) => `${c.verb} ${c.instance}`),
    [`create_backup ${src}`, `upgrade ${r1}`, `upgrade ${r2}`, `upgrade ${src}`],
  );
  t.deepEqual(f.calls.find((c) => c.verb === 'upgrade')!.args, { upgrade_info: { datastore_version: '10.11.19', datastore_version_name: '10.11.19' } });
  for (const id of [src, r1, r2]) {
    t.is(await versionOf(f, id), to);
    t.is((await f.tdb.db('instances').where({ id }).first()).task_id, Tasks.NONE.code);
  }
  const backup = await f.tdb.db('backups').where({ id: row.upgrade_backup_id }).first();
  t.is(backup.state, 'COMPLETED');
  t.is(backup.name, `Pre-upgrade backup of ${src}`);
  t.is(await fault(f, src), undefined);
});

test('a failed pre-upgrade backup: nothing is upgraded, the fault says so', async (t) => {
  const f = await fixture(t);
  const to = await target(f);
  const id = await instance(f, { task: Tasks.UPGRADING.code });
  f.guest.create_backup = async (_i, a) => {
    setTimeout(
      () =>
        void f.tdb
          .db('backups')
          .where({ id: a.backup_info.id })
          .update({ state: 'FAILED', fail_reason: 'mariadb-backup: disk full' })
          .then(() => undefined),
      50,
    );
    return null;
  };
  await upgrade(f, id, to);
  const row = await settle(f, id);
  t.false(f.calls.some((c) => c.verb === 'upgrade'));
  t.is(row.task_id, Tasks.NONE.code);
  t.is(row.datastore_version_id, f.version);
  t.regex((await fault(f, id)) ?? '', /Upgrade failed in step wait_backup: The pre-upgrade backup \S+ failed: mariadb-backup: disk full; nothing was upgraded/);
});

test("a replica's failed upgrade stops the set: the replica before it keeps the new version, the rest the old, all released", async (t) => {
  const f = await fixture(t);
  const to = await target(f);
  const src = await instance(f, { task: Tasks.UPGRADING.code });
  const r1 = await instance(f, { slaveOf: src, task: Tasks.UPGRADING.code });
  await new Promise((r) => setTimeout(r, 20));
  const r2 = await instance(f, { slaveOf: src, task: Tasks.UPGRADING.code });
  f.guest.upgrade = async (i) => {
    if (i === r2) throw new Error('The upgrade from 10.11.18 to 10.11.19 failed and was rolled back to the old binaries and data: mariadbd: [ERROR] boom');
    return { version: '10.11.19' };
  };
  await upgrade(f, src, to);
  await settle(f, src);
  t.is(await versionOf(f, r1), to);
  t.is(await versionOf(f, r2), f.version);
  t.is(await versionOf(f, src), f.version);
  t.false(
    f.calls.some((c) => c.verb === 'upgrade' && c.instance === src),
    'the source was not touched',
  );
  for (const id of [src, r1, r2]) t.is((await f.tdb.db('instances').where({ id }).first()).task_id, Tasks.NONE.code);
  const message = (await fault(f, src)) ?? '';
  t.regex(
    message,
    new RegExp(
      `The upgrade of the replica ${r2} to 10.11.19 failed \\(already upgraded and kept: ${r1}\\): The upgrade from 10.11.18 to 10.11.19 failed and was rolled back`,
    ),
  );
  t.regex(message, /mariadbd: \[ERROR\] boom/);
});

test('cloud mode: the server is rebuilt from the target image before the guest upgrades, and back when it fails', async (t) => {
  const f = await fixture(t);
  await f.tdb.db('datastore_versions').where({ id: f.version }).update({ image_id: 'img-old' });
  const to = await target(f, 'img-new');
  const id = await instance(f, { task: Tasks.UPGRADING.code });
  await f.tdb.db('instances').where({ id }).update({ compute_instance_id: 'srv-1' });
  const rebuilds: string[] = [];
  const compute = f.ctx.compute as unknown as Record<string, unknown>;
  compute.rebuildServer = async (server: string, image: string) => {
    rebuilds.push(`${server} ${image}`);
    // the guest on the rebuilt server reports again
    setTimeout(
      () =>
        void f.tdb
          .db('service_statuses')
          .where({ instance_id: id })
          .update({ status_id: 0x15, updated_at: new Date(Date.now() + 500) })
          .then(() => undefined),
      50,
    );
  };
  compute.getServer = async (sid: string) => ({ id: sid, status: 'ACTIVE', addresses: [] });
  f.guest.upgrade = async () => {
    throw new Error('mariadbd reports version 10.11.18, not 10.11.19');
  };
  await upgrade(f, id, to);
  const row = await settle(f, id);
  t.deepEqual(rebuilds, ['srv-1 img-new', 'srv-1 img-old']);
  t.is(row.datastore_version_id, f.version);
  t.regex((await fault(f, id)) ?? '', /The upgrade of the instance to 10.11.19 failed: mariadbd reports version 10.11.18/);
  t.is(rebuildImage(undefined, { image_id: 'local' } as never), undefined);
  t.is(rebuildImage({ image_id: 'a' } as never, { image_id: 'a' } as never), undefined);
});

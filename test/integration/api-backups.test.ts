// /backups and /backup_strategies on a real Koa server and MariaDB: create and every refusal,
// list filters and offset paging, show, delete rules, strategies and the container they give.
// The taskmanager is recorded, not run.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, RecordingTaskManager, type Harness } from '../helpers/api-harness.js';
import type { Compute, Flavor } from '../../src/clients/compute.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { ServiceStatuses } from '../../src/common/service-status.js';
import { Policy } from '../../src/api/policy/policy.js';

const P = 'proj-bk';
const USER = { token: 'tok-bk-member', projectId: P, roles: ['member'] };
const OTHER = { token: 'tok-bk-other', projectId: 'proj-bk-other', roles: ['member'] };
const ADMIN = { token: 'tok-bk-admin', projectId: 'proj-bk-admin', roles: ['admin'] };
const flavors: Flavor[] = [{ id: '1', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }];
const compute: Compute = { listFlavors: async () => flavors, getFlavor: async () => flavors[0]! };
const tm = new RecordingTaskManager();
let h: Harness;
const DS = randomUUID();
const V = randomUUID();

test.before(async () => {
  h = await startApi({
    users: [USER, OTHER, ADMIN],
    taskmanager: tm,
    authorizer: Policy.load(),
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
  });
  await h.tdb.db('datastores').insert({ id: DS, name: 'mariadb', default_version_id: V });
  await h.tdb
    .db('datastore_versions')
    .insert({ id: V, datastore_id: DS, name: '10.11', version: '10.11.19', manager: 'mariadb', image_id: 'img', packages: '', active: true });
});
test.after.always(() => h?.close());

const api = (tok = USER.token) => h.as(tok);
const base = (p = P) => `/v1.0/${p}`;

async function readyInstance(token = USER.token, project = P): Promise<string> {
  const r = await api(token).post(`${base(project)}/instances`, {
    instance: { name: `i-${randomUUID().slice(0, 6)}`, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } },
  });
  const id = r.data.instance.id as string;
  await h.tdb.db('instances').where({ id }).update({ task_id: Tasks.NONE.code, task_description: Tasks.NONE.description, server_status: 'ACTIVE' });
  await h.tdb
    .db('service_statuses')
    .where({ instance_id: id })
    .update({ status_id: ServiceStatuses.HEALTHY.code, status_description: 'healthy', updated_at: new Date() });
  return id;
}
const lastCast = (verb: string) => [...tm.calls].reverse().find(([m]) => m === verb)?.[1] as Record<string, any> | undefined;

test.serial('create: 202 NEW with Trove fields, quota taken, create_backup cast with the container and storage', async (t) => {
  const inst = await readyInstance();
  const r = await api().post(`${base()}/backups`, { backup: { name: 'b1', instance: inst, description: 'first' } });
  t.is(r.status, 202, JSON.stringify(r.data));
  const b = r.data.backup;
  t.is(b.status, 'NEW');
  t.is(b.name, 'b1');
  t.is(b.description, 'first');
  t.is(b.instance_id, inst);
  t.is(b.parent_id, null);
  t.is(b.locationRef, null);
  t.is(b.project_id, P);
  t.deepEqual(b.datastore, { type: 'mariadb', version: '10.11', version_id: V });
  t.regex(b.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  const cast = lastCast('create_backup')!;
  t.is(cast.instance_id, inst);
  t.is(cast.backup_info.id, b.id);
  t.is(cast.backup_info.backup_type, 'full');
  t.is(cast.backup_info.swift_container, 'database_backups');
  t.is(cast.backup_info.datastore, 'mariadb');
  t.deepEqual(cast.storage, { driver: 'local' });
  const usage = await h.tdb.db('quota_usages').where({ tenant_id: P, resource: 'backups' }).first();
  t.is(usage.in_use, 1);

  // while it runs the instance shows BACKUP and refuses a second backup and a delete
  t.is((await api().get(`${base()}/instances/${inst}`)).data.instance.status, 'BACKUP');
  const again = await api().post(`${base()}/backups`, { backup: { name: 'b2', instance: inst } });
  t.is(again.status, 422);
  t.regex(again.data.unprocessableEntity.message, /BACKUP/);
  t.is((await api().delete(`${base()}/instances/${inst}`)).status, 422);
  t.is((await api().delete(`${base()}/backups/${b.id}`)).status, 422, 'a running backup is not deleted');
});

test.serial(
  'incremental: parent rules checked; parent_id and incremental: 1 cast an incremental on the parent; delete refused while a child depends',
  async (t) => {
    const inst = await readyInstance();
    // incremental: 1 without any COMPLETED backup: a full backup, as Trove does
    const full = (await api().post(`${base()}/backups`, { backup: { name: 'full', instance: inst, incremental: 1 } })).data.backup;
    t.is(full.parent_id, null);
    t.is(lastCast('create_backup')!.backup_info.backup_type, 'full');
    t.falsy(lastCast('create_backup')!.backup_info.parent);
    const early = await api().post(`${base()}/backups`, { backup: { name: 'inc0', instance: inst, parent_id: full.id } });
    t.is(early.status, 422, 'the parent must be COMPLETED');
    await h.tdb.db('backups').where({ id: full.id }).update({ state: 'COMPLETED', location: 'local:///database_backups/x', checksum: 'abc' });
    const inc = await api().post(`${base()}/backups`, { backup: { name: 'inc1', instance: inst, parent_id: full.id } });
    t.is(inc.status, 202, JSON.stringify(inc.data));
    t.is(inc.data.backup.parent_id, full.id);
    const cast = lastCast('create_backup')!;
    t.is(cast.backup_info.id, inc.data.backup.id);
    t.is(cast.backup_info.backup_type, 'incremental');
    t.deepEqual(cast.backup_info.parent, { location: 'local:///database_backups/x', checksum: 'abc' });
    t.is((await h.tdb.db('backups').where({ id: inc.data.backup.id }).first()).backup_type, 'incremental');
    // the instance's newest COMPLETED backup is the parent of incremental: 1
    await h.tdb
      .db('backups')
      .where({ id: inc.data.backup.id })
      .update({ state: 'COMPLETED', location: 'local:///database_backups/x1', checksum: 'def', created: new Date(Date.now() + 2000) });
    const inc2 = await api().post(`${base()}/backups`, { backup: { name: 'inc2', instance: inst, incremental: 1 } });
    t.is(inc2.status, 202, JSON.stringify(inc2.data));
    t.is(inc2.data.backup.parent_id, inc.data.backup.id);
    t.deepEqual(lastCast('create_backup')!.backup_info.parent, { location: 'local:///database_backups/x1', checksum: 'def' });
    await h.tdb.db('backups').whereIn('id', [inc2.data.backup.id]).update({ state: 'FAILED' });
    await h.tdb.db('backups').whereIn('id', [inc.data.backup.id, inc2.data.backup.id]).update({ deleted: true });
    const unknown = await api().post(`${base()}/backups`, { backup: { name: 'x', instance: inst, parent_id: randomUUID() } });
    t.is(unknown.status, 404);
    const otherInst = await readyInstance();
    const foreign = await api().post(`${base()}/backups`, { backup: { name: 'x', instance: otherInst, parent_id: full.id } });
    t.is(foreign.status, 400);
    t.regex(foreign.data.badRequest.message, /another instance/);
    const strangers = await api(OTHER.token).post(`${base(OTHER.projectId)}/backups`, {
      backup: { name: 'x', instance: await readyInstance(OTHER.token, OTHER.projectId), parent_id: full.id },
    });
    t.is(strangers.status, 404, "another project's backup is not a parent");

    // a child (as an incremental would be) blocks deleting its parent; the leaf goes first
    const child = randomUUID();
    await h.tdb.db('backups').insert({
      id: child,
      name: 'child',
      tenant_id: P,
      instance_id: inst,
      parent_id: full.id,
      state: 'COMPLETED',
      location: 'local:///database_backups/y',
      datastore_version_id: V,
      created: new Date(),
      updated: new Date(),
      deleted: false,
    });
    const refused = await api().delete(`${base()}/backups/${full.id}`);
    t.is(refused.status, 400);
    t.regex(refused.data.badRequest.message, /incremental/);
    t.is((await api().delete(`${base()}/backups/${child}`)).status, 202);
    t.deepEqual(lastCast('delete_backup'), { backup_id: child, storage: { driver: 'local' } });
    const failed = randomUUID();
    await h.tdb.db('backups').insert({
      id: failed,
      name: 'failed',
      tenant_id: P,
      instance_id: inst,
      state: 'FAILED',
      datastore_version_id: V,
      created: new Date(),
      updated: new Date(),
      deleted: false,
    });
    t.is((await api().delete(`${base()}/backups/${failed}`)).status, 202, 'a FAILED backup with nothing stored is deleted at once');
    t.is((await api().get(`${base()}/backups/${failed}`)).status, 404);
  },
);

test.serial('bad input: not ACTIVE, unknown or foreign instance, missing name, bad container, restore_from', async (t) => {
  const inst = await readyInstance();
  await h.tdb.db('instances').where({ id: inst }).update({ task_id: Tasks.RESIZING.code });
  t.is((await api().post(`${base()}/backups`, { backup: { name: 'b', instance: inst } })).status, 422);
  t.is((await api().post(`${base()}/backups`, { backup: { name: 'b', instance: randomUUID() } })).status, 404);
  const foreign = await readyInstance(OTHER.token, OTHER.projectId);
  t.is((await api().post(`${base()}/backups`, { backup: { name: 'b', instance: foreign } })).status, 404);
  const noName = await api().post(`${base()}/backups`, { backup: { instance: inst } });
  t.is(noName.status, 400);
  t.regex(noName.data.badRequest.message, /'name' is a required property/);
  t.is((await api().post(`${base()}/backups`, { backup: { name: 'b', instance: inst, swift_container: 'a/b' } })).status, 400);
  t.is((await api().post(`${base()}/backups`, {})).status, 400);
  t.is((await api().post(`${base()}/backups`, { backup: { name: 'b', restore_from: { remote_location: 'http://x' } } })).status, 501);
});

test.serial('list: own project, newest first, filters, offset paging; admins across projects; show 404 across projects', async (t) => {
  const list = await api().get(`${base()}/backups`);
  t.is(list.status, 200);
  const all = list.data.backups as Array<{ id: string; updated: string; project_id: string }>;
  t.true(all.length >= 3, `${all.length} backups`);
  t.true(all.every((b) => b.project_id === P));
  t.deepEqual(
    [...all].sort((a, b) => b.updated.localeCompare(a.updated)).map((b) => b.updated),
    all.map((b) => b.updated),
    'newest first',
  );
  const page1 = await api().get(`${base()}/backups?limit=2`);
  t.is(page1.data.backups.length, 2);
  t.regex(page1.data.links[0].href, /marker=2/);
  const page2 = await api().get(`${base()}/backups?limit=2&marker=2`);
  t.deepEqual(
    page2.data.backups.map((b: { id: string }) => b.id),
    all.slice(2, 4).map((b) => b.id),
  );
  const one = all[0]!;
  const byInst = await api().get(`${base()}/backups?instance_id=${(await api().get(`${base()}/backups/${one.id}`)).data.backup.instance_id}`);
  t.true(byInst.data.backups.length >= 1);
  t.is((await api().get(`${base()}/backups?datastore=nosuch`)).data.backups.length, 0);
  t.is((await api(OTHER.token).get(`${base(OTHER.projectId)}/backups/${one.id}`)).status, 404);
  t.is((await api(OTHER.token).get(`${base(OTHER.projectId)}/backups?all_projects=true`)).status, 403);
  const admin = await api(ADMIN.token).get(`${base(ADMIN.projectId)}/backups?all_projects=true`);
  t.true(admin.data.backups.some((b: { project_id: string }) => b.project_id === P));
});

test.serial('backup strategies: create (per project, per instance), list, the container they give, delete', async (t) => {
  const inst = await readyInstance();
  const p = await api().post(`${base()}/backup_strategies`, { backup_strategy: { swift_container: 'proj_backups' } });
  t.is(p.status, 202);
  t.deepEqual(p.data.backup_strategy, { project_id: P, instance_id: '', backend: 'swift', swift_container: 'proj_backups' });
  await api().post(`${base()}/backup_strategies`, { backup_strategy: { instance_id: inst, swift_container: 'inst_backups' } });
  const list = await api().get(`${base()}/backup_strategies`);
  t.deepEqual(
    list.data.backup_strategies.map((s: { swift_container: string }) => s.swift_container),
    ['proj_backups', 'inst_backups'],
  );
  await api().post(`${base()}/backups`, { backup: { name: 'own', instance: inst } });
  t.is(lastCast('create_backup')!.backup_info.swift_container, 'inst_backups');
  const other = await readyInstance();
  await api().post(`${base()}/backups`, { backup: { name: 'proj', instance: other } });
  t.is(lastCast('create_backup')!.backup_info.swift_container, 'proj_backups');
  await api()
    .post(`${base()}/backups`, { backup: { name: 'explicit', instance: other, swift_container: 'mine' } })
    .then(async (r) => {
      t.is(r.status, 422, 'the previous backup of that instance is still running');
    });
  t.is((await api().post(`${base()}/backup_strategies`, { backup_strategy: { instance_id: randomUUID(), swift_container: 'x' } })).status, 404);
  t.is((await api(OTHER.token).get(`${base(OTHER.projectId)}/backup_strategies?project_id=${P}`)).status, 403);
  t.is((await api().delete(`${base()}/backup_strategies?instance_id=${inst}`)).status, 202);
  t.is((await api().delete(`${base()}/backup_strategies?instance_id=${inst}`)).status, 404);
  t.deepEqual(
    (await api().get(`${base()}/backup_strategies`)).data.backup_strategies.map((s: { instance_id: string }) => s.instance_id),
    [''],
  );
});

test.serial('restore: POST /instances with restorePoint casts the backup and its storage; bad refs refused', async (t) => {
  const inst = await readyInstance();
  const b = (await api().post(`${base()}/backups`, { backup: { name: 'src', instance: inst } })).data.backup;
  const create = (ref: string, over: Record<string, unknown> = {}) =>
    api().post(`${base()}/instances`, { instance: { name: 'restored', flavorRef: '1', volume: { size: 2 }, restorePoint: { backupRef: ref }, ...over } });
  const running = await create(b.id);
  t.is(running.status, 409, 'a backup still running cannot be restored');
  t.truthy(running.data.conflict);
  t.is((await create(randomUUID())).status, 404);
  await h.tdb.db('backups').where({ id: b.id }).update({ state: 'COMPLETED', location: 'local:///database_backups/src', checksum: 'c', size: 3.5 });
  const tooBig = await create(b.id);
  t.is(tooBig.status, 403);
  t.regex(tooBig.data.forbidden.message, /Backup is too large/);
  // as Trove: databases and users given with a restore are made on the restored data
  const withUsers = await create(b.id, {
    volume: { size: 4 },
    databases: [{ name: 'extra' }],
    users: [{ name: 'u', password: 'Pw-123456', databases: [{ name: 'shop' }] }],
  });
  t.is(withUsers.status, 200, JSON.stringify(withUsers.data));
  const withUsersCast = lastCast('create_instance')!;
  t.is(withUsersCast.backup_id, b.id);
  t.deepEqual(
    withUsersCast.databases.map((d: { name: string }) => d.name),
    ['extra'],
  );
  t.deepEqual(
    withUsersCast.users.map((u: { name: string; databases: string[] }) => [u.name, u.databases]),
    [['u', ['shop']]],
  );
  const ok = await create(b.id, { volume: { size: 4 } });
  t.is(ok.status, 200, JSON.stringify(ok.data));
  t.deepEqual(ok.data.instance.datastore, { type: 'mariadb', version: '10.11', version_number: '10.11.19' }, 'the backup gives the datastore');
  const cast = lastCast('create_instance')!;
  t.is(cast.backup_id, b.id);
  t.deepEqual(cast.restore_storage, { driver: 'local' });
  const foreign = await api(OTHER.token).post(`${base(OTHER.projectId)}/instances`, {
    instance: { name: 'x', flavorRef: '1', volume: { size: 4 }, restorePoint: { backupRef: b.id } },
  });
  t.is(foreign.status, 404, "another project's backup is not found");
});

test.serial('a limit or marker beyond a safe integer is a 400 (was a 500: the SQL LIMIT overflowed)', async (t) => {
  const inst = await readyInstance();
  for (const q of ['limit=99999999999999999999', 'marker=99999999999999999999', 'limit=1e308']) {
    for (const path of [`${base()}/backups?${q}`, `${base()}/instances/${inst}/backups?${q}`]) {
      const r = await api().get(path);
      t.is(r.status, 400, path);
      t.regex(r.data.badRequest?.message ?? '', /must be a non-negative integer/, path);
    }
  }
});

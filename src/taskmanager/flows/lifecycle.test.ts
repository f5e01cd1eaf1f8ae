// The resize flows give back the quota the API took for them when they fail before the instance
// changed (issue 12 item 7: "resize today keeps it"), and keep it when the change happened.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Tasks } from '../../common/instance-tasks.js';
import { ServiceStatuses } from '../../common/service-status.js';
import { taskmanagerHandlers } from '../manager.js';
import { fault, fixture, instance, P, settle, type Fixture } from '../../../test/helpers/taskmanager-fixture.js';

const RAM: Record<string, number> = { ds1G: 1024, big: 4096 };

async function usage(f: Fixture): Promise<Record<string, number>> {
  const rows = await f.tdb.db('quota_usages').where({ tenant_id: P }).select('resource', 'in_use');
  return Object.fromEntries(rows.map((r: { resource: string; in_use: number }) => [r.resource, r.in_use]));
}

/** The usage the API recorded: the instance (1 GB RAM, 1 GB volume) plus what the resize took. */
async function taken(f: Fixture, ram: number, volumes: number): Promise<void> {
  const now = new Date();
  await f.tdb.db('quota_usages').insert([
    { id: randomUUID(), tenant_id: P, resource: 'ram', in_use: ram, reserved: 0, created: now, updated: now },
    { id: randomUUID(), tenant_id: P, resource: 'volumes', in_use: volumes, reserved: 0, created: now, updated: now },
  ]);
}

function flavors(f: Fixture): void {
  (f.ctx.compute as { getFlavor: unknown }).getFlavor = async (id: string) => ({ id, name: id, ram: RAM[id]!, vcpus: 1, disk: 5, ephemeral: 0 });
}

test('a resize of flavor that fails before the flavor changed gives back the RAM it took; the task is released', async (t) => {
  const f = await fixture(t);
  flavors(f);
  (f.ctx.compute as { resizeServer: unknown }).resizeServer = async () => {
    throw new Error('nova refused the resize');
  };
  const id = await instance(f, { task: Tasks.RESIZING.code });
  await taken(f, 1024 + 3072, 1);
  await taskmanagerHandlers(f.ctx).resize_flavor({ instance_id: id, old_flavor_id: 'ds1G', new_flavor_id: 'big' }, {} as never);
  const row = await settle(f, id);
  t.is(row.task_id, Tasks.NONE.code);
  t.is(row.flavor_id, 'ds1G');
  t.regex((await fault(f, id)) ?? '', /Resize failed in step resize_server/);
  t.deepEqual(await usage(f), { ram: 1024, volumes: 1 });
});

test('a resize of flavor that fails after the flavor changed keeps the RAM (the instance uses it)', async (t) => {
  const f = await fixture(t);
  flavors(f);
  (f.ctx.compute as { resizeServer: unknown }).resizeServer = async () => undefined;
  (f.ctx.compute as { confirmResize: unknown }).confirmResize = async () => undefined;
  (f.ctx.compute as { getServer: unknown }).getServer = async (sid: string) => ({ id: sid, status: 'ACTIVE', addresses: [] });
  // the engine does not come back with the new memory: the flow fails in wait_ready, after the flavor was recorded
  f.guest.start_db_with_conf_changes = async (i) => {
    await f.tdb
      .db('service_statuses')
      .where({ instance_id: i })
      .update({ status_id: ServiceStatuses.FAILED.code, updated_at: new Date(Date.now() + 1000) });
    return null;
  };
  const id = await instance(f, { task: Tasks.RESIZING.code });
  await taken(f, 1024 + 3072, 1);
  await taskmanagerHandlers(f.ctx).resize_flavor({ instance_id: id, old_flavor_id: 'ds1G', new_flavor_id: 'big' }, {} as never);
  const row = await settle(f, id);
  t.regex((await fault(f, id)) ?? '', /wait_ready/);
  t.is(row.flavor_id, 'big');
  t.is((await usage(f)).ram, 1024 + 3072);
});

test('a resize of volume whose volume was not extended gives back the GB it took', async (t) => {
  const f = await fixture(t);
  f.guest.resize_fs = async () => {
    throw new Error('resize2fs failed');
  };
  const id = await instance(f, { task: Tasks.RESIZING.code });
  await f.tdb.db('instances').where({ id }).update({ volume_id: null });
  await taken(f, 1024, 3);
  await taskmanagerHandlers(f.ctx).resize_volume({ instance_id: id, new_size: 3 }, {} as never);
  const row = await settle(f, id);
  t.is(row.task_id, Tasks.NONE.code);
  t.is(row.volume_size, 1);
  t.deepEqual(await usage(f), { ram: 1024, volumes: 1 });
});

test('a resize of volume whose volume was extended (the file system failed) records the new size and keeps the GB', async (t) => {
  const f = await fixture(t);
  f.guest.resize_fs = async () => {
    throw new Error('resize2fs failed');
  };
  (f.ctx.volumes as { extendVolume: unknown }).extendVolume = async () => undefined;
  (f.ctx.volumes as { getVolume: unknown }).getVolume = async (vid: string) => ({ id: vid, status: 'in-use', size: 3 });
  const id = await instance(f, { task: Tasks.RESIZING.code });
  await f.tdb
    .db('instances')
    .where({ id })
    .update({ volume_id: `vol-${id}` });
  await taken(f, 1024, 3);
  await taskmanagerHandlers(f.ctx).resize_volume({ instance_id: id, new_size: 3 }, {} as never);
  const row = await settle(f, id);
  t.is(row.volume_size, 3);
  t.deepEqual(await usage(f), { ram: 1024, volumes: 3 });
});

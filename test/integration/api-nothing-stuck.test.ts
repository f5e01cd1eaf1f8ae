// Issue 12 item 7 on the API's side: an action the taskmanager cannot be told about answers 503
// with Trove's body and puts the instance's task and quota back (never RESIZING / REBOOTING for
// ever, no quota kept for work that never started); a DELETE while another task runs is Trove's
// 422, never a 202 that does nothing. The taskmanager is recorded (failNext = the bus refuses the
// cast), and once a real AMQP transport with no broker behind it.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { startApi, RecordingTaskManager, flavorCompute, type Harness } from '../helpers/api-harness.js';
import { freeTcpPort } from '../helpers/ports.js';
import type { Flavor } from '../../src/clients/compute.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { ServiceStatuses } from '../../src/common/service-status.js';
import { createLogger } from '../../src/common/log.js';
import { AmqpTransport } from '../../src/rpc/transports/amqp.js';
import { RpcClient } from '../../src/rpc/rpc.js';
import { TASKMANAGER_TOPIC, taskmanagerContract } from '../../src/rpc/contracts/taskmanager.js';
import type { TaskManagerApi } from '../../src/api/deps.js';

const P = 'proj-stuck';
const USER = { token: 'tok-stuck-member', projectId: P, roles: ['member'] };
const ADMIN = { token: 'tok-stuck-admin', projectId: 'proj-admin', roles: ['admin'] };
const flavors: Flavor[] = [
  { id: 'small', name: 'small', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 },
  { id: 'big', name: 'big', ram: 4096, vcpus: 2, disk: 10, ephemeral: 0 },
];
const compute = flavorCompute(flavors);
const userClients = () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } });
const tm = new RecordingTaskManager();
let h: Harness;
const DS = randomUUID();
const V = randomUUID();

async function seed(harness: Harness) {
  await harness.as(ADMIN.token).put(`/v1.0/proj-admin/mgmt/quotas/${P}`, { quotas: { instances: -1, volumes: -1 } });
  await harness.tdb.db('datastores').insert({ id: DS, name: 'mariadb', default_version_id: V });
  await harness.tdb
    .db('datastore_versions')
    .insert({ id: V, datastore_id: DS, name: '10.11', version: '10.11.19', manager: 'mariadb', image_id: 'img', packages: '', active: true });
}

test.before(async () => {
  h = await startApi({ users: [USER, ADMIN], taskmanager: tm, userClients });
  await seed(h);
});
test.after.always(() => h?.close());

const base = `/v1.0/${P}/instances`;

/** A ready instance of flavor `small` with a 2 GB volume, its usage recorded as a create would. */
async function ready(harness: Harness, task = Tasks.NONE): Promise<string> {
  const r = await harness.as(USER.token).post(base, {
    instance: { name: `i-${randomUUID().slice(0, 6)}`, flavorRef: 'small', volume: { size: 2 }, datastore: { type: 'mariadb', version: '10.11' } },
  });
  if (r.status !== 200) throw new Error(`create: ${r.status} ${JSON.stringify(r.data)}`);
  const id = r.data.instance.id as string;
  await harness.tdb.db('instances').where({ id }).update({ task_id: task.code, task_description: task.description, server_status: 'ACTIVE' });
  await harness.tdb
    .db('service_statuses')
    .where({ instance_id: id })
    .update({ status_id: ServiceStatuses.HEALTHY.code, status_description: 'healthy', updated_at: new Date() });
  return id;
}

async function usage(harness: Harness): Promise<Record<string, number>> {
  const rows = await harness.tdb.db('quota_usages').where({ tenant_id: P }).select('resource', 'in_use');
  return Object.fromEntries(rows.map((r: { resource: string; in_use: number }) => [r.resource, r.in_use]));
}

const taskOf = async (harness: Harness, id: string) => (await harness.tdb.db('instances').where({ id }).first('task_id')).task_id as number;

/** Trove's 503 body, its message matching. */
function unreachable(
  t: { is(a: unknown, b: unknown): void; regex(s: string, r: RegExp): void },
  body: { serviceUnavailable?: { code: number; message: string } },
  message: RegExp,
) {
  t.is(body.serviceUnavailable?.code, 503);
  t.regex(body.serviceUnavailable?.message ?? '', message);
}

test.serial('restart the taskmanager cannot be told about: 503 with Trove body, the task back to NONE, and it can be asked again', async (t) => {
  const id = await ready(h);
  tm.failNext = true;
  const r = await h.as(USER.token).post(`${base}/${id}/action`, { restart: {} });
  t.is(r.status, 503);
  unreachable(t, r.data, /taskmanager could not be reached/);
  t.is(await taskOf(h, id), Tasks.NONE.code, 'not REBOOTING for ever');
  t.is((await h.as(USER.token).get(`${base}/${id}`)).data.instance.status, 'ACTIVE');
  t.is((await h.as(USER.token).post(`${base}/${id}/action`, { restart: {} })).status, 202);
  t.deepEqual(tm.calls.at(-1), ['restart', { instance_id: id }]);
});

test.serial('a pending restart stays pending when the action could not be cast', async (t) => {
  const id = await ready(h, Tasks.RESTART_REQUIRED);
  tm.failNext = true;
  t.is((await h.as(USER.token).post(`${base}/${id}/action`, { restart: {} })).status, 503);
  t.is(await taskOf(h, id), Tasks.RESTART_REQUIRED.code);
});

test.serial('resize of flavor not cast: 503, the task back and the RAM taken for it given back', async (t) => {
  const id = await ready(h);
  const before = await usage(h);
  tm.failNext = true;
  const r = await h.as(USER.token).post(`${base}/${id}/action`, { resize: { flavorRef: 'big' } });
  t.is(r.status, 503);
  unreachable(t, r.data, /resize_flavor/);
  t.is(await taskOf(h, id), Tasks.NONE.code, 'not RESIZING for ever');
  t.deepEqual(await usage(h), before, 'the 3072 MB reserved for the resize given back');
  // cast: the growth is taken, and the task
  t.is((await h.as(USER.token).post(`${base}/${id}/action`, { resize: { flavorRef: 'big' } })).status, 202);
  t.is((await usage(h)).ram, before.ram! + 3072);
  t.is(await taskOf(h, id), Tasks.RESIZING.code);
});

test.serial('resize of volume not cast: 503, the task back and the GB taken for it given back', async (t) => {
  const id = await ready(h);
  const before = await usage(h);
  tm.failNext = true;
  const r = await h.as(USER.token).post(`${base}/${id}/action`, { resize: { volume: { size: 5 } } });
  t.is(r.status, 503);
  t.is(await taskOf(h, id), Tasks.NONE.code);
  t.deepEqual(await usage(h), before);
});

test.serial('a resize over quota is 413 and takes neither the task nor any quota', async (t) => {
  const id = await ready(h);
  await h.as(ADMIN.token).put(`/v1.0/proj-admin/mgmt/quotas/${P}`, { quotas: { ram: (await usage(h)).ram! + 100 } });
  t.teardown(() =>
    h
      .as(ADMIN.token)
      .put(`/v1.0/proj-admin/mgmt/quotas/${P}`, { quotas: { ram: -1 } })
      .then(() => undefined),
  );
  const before = await usage(h);
  const r = await h.as(USER.token).post(`${base}/${id}/action`, { resize: { flavorRef: 'big' } });
  t.is(r.status, 413);
  t.is(await taskOf(h, id), Tasks.NONE.code);
  t.deepEqual(await usage(h), before);
});

test.serial('admin reboot/stop/start not cast: 503 and the task back', async (t) => {
  for (const verb of ['reboot', 'stop', 'start']) {
    const id = await ready(h);
    tm.failNext = true;
    const r = await h.as(ADMIN.token).post(`/v1.0/proj-admin/mgmt/instances/${id}/action`, { [verb]: {} });
    t.is(r.status, 503, verb);
    t.is(await taskOf(h, id), Tasks.NONE.code, verb);
  }
});

test.serial('an access update not cast: 503, the task and the access as they were', async (t) => {
  const id = await ready(h);
  const access = (await h.tdb.db('instances').where({ id }).first('access')).access;
  tm.failNext = true;
  const r = await h.as(USER.token).put(`${base}/${id}`, { instance: { access: { is_public: true } } });
  t.is(r.status, 503);
  const row = await h.tdb.db('instances').where({ id }).first('task_id', 'access');
  t.is(row.task_id, Tasks.NONE.code);
  t.is(row.access, access);
});

test.serial('DELETE while a resize runs is Trove 422 and casts nothing; after the resize it is accepted', async (t) => {
  const id = await ready(h);
  t.is((await h.as(USER.token).post(`${base}/${id}/action`, { resize: { volume: { size: 3 } } })).status, 202);
  const casts = tm.calls.length;
  const r = await h.as(USER.token).delete(`${base}/${id}`);
  t.is(r.status, 422);
  t.deepEqual(r.data, { unprocessableEntity: { code: 422, message: `Instance ${id} is not ready. (Status is RESIZE).` } });
  t.is(tm.calls.length, casts, 'no delete_instance cast that the running flow would swallow');
  t.is(await taskOf(h, id), Tasks.RESIZING.code, 'the resize keeps its task');
  // a restart in progress: the same
  const other = await ready(h, Tasks.REBOOTING);
  t.is((await h.as(USER.token).delete(`${base}/${other}`)).data.unprocessableEntity.message, `Instance ${other} is not ready. (Status is REBOOT).`);
  // the resize ended (the flow puts the task back): the delete goes through
  await h.tdb.db('instances').where({ id }).update({ task_id: Tasks.NONE.code });
  t.is((await h.as(USER.token).delete(`${base}/${id}`)).status, 202);
  t.deepEqual(tm.calls.at(-1), ['delete_instance', { instance_id: id }]);
});

test.serial('DELETE of an instance in an error task is accepted', async (t) => {
  const id = await ready(h, Tasks.ACTION_ERROR);
  t.is((await h.as(USER.token).delete(`${base}/${id}`)).status, 202);
  t.is(await taskOf(h, id), Tasks.DELETING.code);
});

test.serial('DELETE not cast: 503 and the instance as it was (not SHUTDOWN for ever)', async (t) => {
  const id = await ready(h);
  tm.failNext = true;
  const r = await h.as(USER.token).delete(`${base}/${id}`);
  t.is(r.status, 503);
  unreachable(t, r.data, /not deleted/);
  t.is(await taskOf(h, id), Tasks.NONE.code);
  t.is((await h.as(USER.token).get(`${base}/${id}`)).data.instance.status, 'ACTIVE');
});

test('with the real AMQP transport and no broker: 503 and the task back (restart, resize)', async (t) => {
  const port = await freeTcpPort(); // nothing listens there
  const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const transport = new AmqpTransport({
    urls: [`amqp://guest:guest@127.0.0.1:${port}/`],
    exchange: 'trove',
    log,
    connectTimeoutMs: 1500,
    retryIntervalMs: 200,
  });
  const rpc = new RpcClient(transport, log);
  const stub = rpc.stub(taskmanagerContract, TASKMANAGER_TOPIC) as unknown as TaskManagerApi;
  const hh = await startApi({ users: [USER, ADMIN], taskmanager: { stub } as RecordingTaskManager, userClients });
  t.teardown(async () => {
    await rpc.close();
    await transport.close();
    await hh.close();
  });
  await seed(hh);
  const id = await ready(hh).catch(async () => {
    // the create itself is not cast either: make the instance by hand
    const row = await hh.tdb.db('instances').orderBy('created', 'desc').first('id');
    await hh.tdb.db('instances').where({ id: row.id }).update({ task_id: Tasks.NONE.code, server_status: 'ACTIVE' });
    await hh.tdb.db('service_statuses').where({ instance_id: row.id }).update({ status_id: ServiceStatuses.HEALTHY.code, updated_at: new Date() });
    return row.id as string;
  });
  const before = await usage(hh);
  const restart = await hh.as(USER.token).post(`${base}/${id}/action`, { restart: {} });
  t.is(restart.status, 503);
  t.truthy(restart.data.serviceUnavailable);
  t.is(await taskOf(hh, id), Tasks.NONE.code);
  const resize = await hh.as(USER.token).post(`${base}/${id}/action`, { resize: { flavorRef: 'big' } });
  t.is(resize.status, 503);
  t.is(await taskOf(hh, id), Tasks.NONE.code);
  t.deepEqual(await usage(hh), before);
});

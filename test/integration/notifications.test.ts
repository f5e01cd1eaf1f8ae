// Usage notifications as Trove sends them, on the machine's RabbitMQ: a Ceilometer-like consumer
// bound to notifications.info and .error on the control exchange receives, from the real API and
// taskmanager flows (local compute, a real mariadbd), dbaas.instance_create.start/.end and
// trove.instance.create, the periodic trove.instance.exists, trove.instance.modify_volume and
// .modify_flavor, a dbaas start/error pair (a resize over quota), and trove.instance.delete, each
// in the 2.0 envelope with Trove's payload keys. A notification bus that cannot be reached: the
// instance still becomes ACTIVE and is deleted, and each service logs the failure once.
import test from 'ava';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { consumeNotifications, type Notification } from '../helpers/notification-consumer.js';

// the payload keys of trove/common/notification.py: TroveBaseTraits + TroveCommonTraits (+ the kwargs each event adds)
const INSTANCE_TRAITS = [
  'availability_zone',
  'created_at',
  'instance_id',
  'instance_name',
  'instance_size',
  'instance_type',
  'instance_type_id',
  'launched_at',
  'name',
  'nova_instance_id',
  'nova_volume_id',
  'region',
  'service_id',
  'state',
  'state_description',
  'tenant_id',
  'user_id',
  'volume_size',
];
// trove/extensions/mgmt/instances/models.py NotificationTransformer.transform_instance
const EXISTS_TRAITS = [
  'audit_period_beginning',
  'audit_period_ending',
  'created_at',
  'display_name',
  'instance_id',
  'instance_name',
  'instance_type_id',
  'launched_at',
  'nova_instance_id',
  'region',
  'service_id',
  'state',
  'state_description',
  'tenant_id',
];
const BASE = ['client_ip', 'request_id', 'server_ip', 'server_type', 'tenant_id'];
const MARIADB_SERVICE_ID = '7a4f82cc-10d2-4bc6-aadc-d9aacc2a3cb5';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

const keys = (o: object) => Object.keys(o).sort();

async function datastore(cp: ControlPlane): Promise<void> {
  const ds = randomUUID();
  const v = randomUUID();
  await cp.tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: v });
  await cp.tdb
    .db('datastore_versions')
    .insert({ id: v, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', image_id: 'local', packages: '', active: true });
}

async function create(cp: ControlPlane, name: string): Promise<string> {
  const r = await cp.http.post('/instances', { instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb', version: '10.11' } } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.data));
  return r.data.instance.id as string;
}

const settled = (cp: ControlPlane, id: string, ms = 180_000) =>
  waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR', ms);

function checkEnvelope(t: { is: (a: unknown, b: unknown) => void; regex: (s: string, r: RegExp) => void }, n: Notification, key: string): void {
  t.is(n.routingKey, key);
  t.is(n.envelope['oslo.version'], '2.0');
  t.regex(n.message_id, /^[0-9a-f-]{36}$/);
  t.regex(n.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
}

test.serial('create, exists, resize volume and flavor, an error, delete: each notification with Trove’s fields', async (t) => {
  const cp = await startControlPlane({
    config: {
      oslo_messaging_notifications: { driver: 'messagingv2' },
      DEFAULT: { exists_notification_transformer: 'trove.extensions.mgmt.instances.models.NotificationTransformer', exists_notification_interval: '3' },
    },
  });
  const consumer = await consumeNotifications(cp.vhost.url);
  t.teardown(async () => {
    await consumer.close();
    await cp.stop();
  });
  await datastore(cp);
  const host = hostname();
  const id = await create(cp, 'billed');
  const of = (event: string) => (n: Notification) => n.event_type === event && n.payload.instance_id === id;

  // dbaas.instance_create.start from the API, with the request's base traits
  const start = await consumer.next((n) => n.event_type === 'dbaas.instance_create.start' && n.payload.name === 'billed');
  checkEnvelope(t, start, 'notifications.info');
  t.is(start.publisher_id, `api.${host}`);
  t.like(start.payload, {
    server_type: 'api',
    tenant_id: 'p-local',
    name: 'billed',
    flavor_id: '1',
    datastore: 'mariadb',
    datastore_version: '10.11',
    image_id: 'local',
  });
  for (const k of [...BASE, 'availability_zone', 'region_name']) t.true(k in start.payload, k);
  t.regex(start.payload.request_id, /^req-/);

  t.is((await settled(cp, id))?.status, 'ACTIVE');
  const created = await consumer.next(of('trove.instance.create'));
  checkEnvelope(t, created, 'notifications.info');
  t.is(created.publisher_id, host); // Trove: CONF.host for the instance events
  t.is(created.priority, 'INFO');
  t.deepEqual(keys(created.payload), INSTANCE_TRAITS);
  t.like(created.payload, {
    instance_name: 'billed',
    name: 'billed',
    tenant_id: 'p-local',
    instance_type_id: '1',
    instance_type: 'ds512M',
    instance_size: 512,
    volume_size: 1,
    state: 'active',
    state_description: 'active',
    service_id: MARIADB_SERVICE_ID,
  });
  t.regex(created.payload.created_at, ISO);
  t.is(created.payload.launched_at, created.payload.created_at);
  t.truthy(created.payload.nova_instance_id);
  const end = await consumer.next((n) => n.event_type === 'dbaas.instance_create.end' && n.payload.instance_id === id);
  t.is(end.publisher_id, `taskmanager.${host}`);
  t.like(end.payload, { server_type: 'taskmanager', request_id: start.payload.request_id, tenant_id: 'p-local' });

  // the periodic exists (every 3 s here), once it is ACTIVE
  const exists = await consumer.next((n) => of('trove.instance.exists')(n) && n.payload.state === 'active');
  t.is(exists.publisher_id, `taskmanager.${host}`);
  t.deepEqual(keys(exists.payload), EXISTS_TRAITS);
  t.like(exists.payload, { display_name: 'billed', state: 'active', tenant_id: 'p-local', service_id: MARIADB_SERVICE_ID });
  t.is(Date.parse(exists.payload.audit_period_ending) - Date.parse(exists.payload.audit_period_beginning), 3000);

  // resize volume 1 → 2
  t.is((await cp.http.post(`/instances/${id}/action`, { resize: { volume: { size: 2 } } })).status, 202);
  const vol = await consumer.next(of('trove.instance.modify_volume'));
  t.deepEqual(keys(vol.payload), [...INSTANCE_TRAITS, 'modify_at', 'old_volume_size'].sort());
  t.like(vol.payload, { old_volume_size: 1, volume_size: 2 });
  t.regex(vol.payload.modify_at, ISO);
  t.like((await consumer.next(of('dbaas.instance_resize_volume.start'))).payload, { new_size: 2, server_type: 'api' });
  t.like((await consumer.next(of('dbaas.instance_resize_volume.end'))).payload, { new_size: 2, server_type: 'taskmanager' });
  await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && (i?.volume as { size: number }).size === 2);

  // resize flavor 1 (512 MB) → 2 (1 GB)
  t.is((await cp.http.post(`/instances/${id}/action`, { resize: { flavorRef: '2' } })).status, 202);
  const flavor = await consumer.next(of('trove.instance.modify_flavor'), 240_000);
  t.deepEqual(keys(flavor.payload), [...INSTANCE_TRAITS, 'modify_at', 'old_instance_size'].sort());
  t.like(flavor.payload, { old_instance_size: 512, instance_size: 1024, instance_type_id: '2', instance_type: 'ds1G' });
  t.like((await consumer.next(of('dbaas.instance_resize_instance.end'))).payload, { new_flavor_id: '2' });
  t.is((await settled(cp, id))?.status, 'ACTIVE');

  // an action the API refuses after it started (over the volume quota): start and error, on .error
  t.is((await cp.http.put(`/mgmt/quotas/p-local`, { quotas: { volumes: 2 } })).status, 200);
  const over = await cp.http.post(`/instances/${id}/action`, { resize: { volume: { size: 5 } } });
  t.is(over.status, 413, JSON.stringify(over.data));
  const refusedStart = await consumer.next((n) => n.event_type === 'dbaas.instance_resize_volume.start' && n.payload.new_size === 5);
  const error = await consumer.next((n) => n.event_type === 'dbaas.instance_resize_volume.error' && n.payload.new_size === 5);
  checkEnvelope(t, error, 'notifications.error');
  t.is(error.priority, 'ERROR');
  t.is(error.payload.request_id, refusedStart.payload.request_id);
  t.like(error.payload, { server_type: 'api', instance_id: id });
  t.regex(error.payload.message, /quota|exceed/i);
  t.true(Array.isArray(error.payload.exception));

  // delete
  t.is((await cp.http.delete(`/instances/${id}`)).status, 202);
  const deleted = await consumer.next(of('trove.instance.delete'));
  t.deepEqual(keys(deleted.payload), [...INSTANCE_TRAITS, 'deleted_at'].sort());
  t.like(deleted.payload, { state: 'shutdown', instance_name: 'billed' });
  t.regex(deleted.payload.deleted_at, ISO);
  t.like((await consumer.next(of('dbaas.instance_delete.end'))).payload, { server_type: 'taskmanager' });
  // nothing of this test's went anywhere but .info and .error
  t.true(consumer.received.every((n) => n.routingKey === (n.priority === 'ERROR' ? 'notifications.error' : 'notifications.info')));
});

test.serial('a notification bus that cannot be reached: the instance still becomes ACTIVE and goes; each service logs it once', async (t) => {
  const cp = await startControlPlane({
    config: {
      // nothing listens on port 1; a notification waits rpc_response_timeout for it, then is dropped
      oslo_messaging_notifications: { driver: 'messagingv2', transport_url: 'rabbit://guest:Wr0ng-pw@127.0.0.1:1/' },
      DEFAULT: { rpc_response_timeout: '5' },
    },
  });
  t.teardown(() => cp.stop());
  await datastore(cp);
  const id = await create(cp, 'unbilled');
  t.is((await settled(cp, id))?.status, 'ACTIVE');
  t.is((await cp.http.delete(`/instances/${id}`)).status, 202);
  await waitForInstance(cp.http, id, (_i, status) => status === 404);
  // create (+ its end), delete (+ its end) all dropped by the taskmanager; the API's two starts too
  const tm = cp.taskmanager!.ctx.notifier;
  const api = cp.api.deps.notifier!;
  for (let i = 0; i < 300 && (tm.dropped < 4 || api.dropped < 2); i++) await new Promise((r) => setTimeout(r, 100));
  t.true(tm.dropped >= 4, `taskmanager dropped ${tm.dropped}`);
  t.true(api.dropped >= 2, `api dropped ${api.dropped}`);
  const failures = cp.logs.filter((l) => l.includes('usage notifications cannot be published')).map((l) => JSON.parse(l) as { svc: string; err: string });
  t.deepEqual(failures.map((f) => f.svc).sort(), ['api', 'taskmanager']);
  for (const f of failures) t.notRegex(f.err, /Wr0ng-pw/);
});

// The taskmanager's usage events on the recorded flows (the flows on SQLite, drivers recorded):
// a resize of volume sends trove.instance.modify_volume with the sizes before and after; a failed
// one sends nothing; the exists pass sends one per instance not deleted, with Trove's fields.
import test from 'ava';
import { Tasks } from '../common/instance-tasks.js';
import { createNotifier } from '../notifications/notifier.js';
import type { OsloNotification } from '../notifications/envelope.js';
import { taskmanagerHandlers } from './manager.js';
import { publishExistsEvents, serviceIdOf, UNKNOWN_SERVICE_ID, usageState } from './usage-events.js';
import { fixture, instance, P, settle, type Fixture } from '../../test/helpers/taskmanager-fixture.js';

function recorded(f: Fixture): OsloNotification[] {
  const sent: OsloNotification[] = [];
  f.ctx.notifier = createNotifier([async (m) => void sent.push(m)], f.ctx.log, 'taskmanager', 'tm-host');
  return sent;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

test('a resize of volume sends trove.instance.modify_volume with the old and new sizes; a failed one sends none', async (t) => {
  const f = await fixture(t);
  const sent = recorded(f);
  (f.ctx.volumes as { extendVolume: unknown }).extendVolume = async () => undefined;
  const id = await instance(f, { task: Tasks.RESIZING.code });
  await f.tdb
    .db('instances')
    .where({ id })
    .update({ volume_id: `vol-${id}`, compute_instance_id: `srv-${id}`, availability_zone: 'nova' });
  await taskmanagerHandlers(f.ctx).resize_volume({ instance_id: id, new_size: 3 }, {} as never);
  await settle(f, id);
  await until(() => sent.length > 0);
  t.is(sent.length, 1);
  const m = sent[0]!;
  t.is(m.event_type, 'trove.instance.modify_volume');
  t.is(m.publisher_id, 'tm-host'); // Trove: CONF.host alone for the instance events
  t.like(m.payload, {
    instance_id: id,
    instance_name: 'db',
    name: 'db',
    tenant_id: P,
    instance_type_id: 'ds1G',
    instance_type: 'ds1G',
    instance_size: 1024,
    nova_instance_id: `srv-${id}`,
    nova_volume_id: `vol-${id}`,
    availability_zone: 'nova',
    old_volume_size: 1,
    volume_size: 3,
    state: 'active',
    state_description: 'active',
    region: 'RegionOne',
    service_id: '7a4f82cc-10d2-4bc6-aadc-d9aacc2a3cb5', // mariadb's in Trove's notification_service_id
  });
  t.regex(m.payload.modify_at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.is(m.payload.launched_at, m.payload.modify_at);
  t.regex(m.payload.created_at as string, /Z$/);

  f.guest.resize_fs = async () => {
    throw new Error('resize2fs failed');
  };
  const other = await instance(f, { task: Tasks.RESIZING.code });
  await taskmanagerHandlers(f.ctx).resize_volume({ instance_id: other, new_size: 3 }, {} as never);
  await settle(f, other);
  t.is(sent.length, 1);
});

test('exists: one per instance not deleted, for the audit period ending now', async (t) => {
  const f = await fixture(t);
  const sent = recorded(f);
  const a = await instance(f);
  const b = await instance(f, { task: Tasks.BUILDING.code, server: null });
  const gone = await instance(f);
  await f.tdb.db('instances').where({ id: gone }).update({ deleted: true, deleted_at: new Date() });
  const now = new Date('2026-12-07T03:00:00.500Z');
  t.is(await publishExistsEvents(f.ctx, now), 2);
  const byId = new Map(sent.map((m) => [m.payload.instance_id, m]));
  t.false(byId.has(gone));
  t.is(byId.get(a)!.event_type, 'trove.instance.exists');
  t.is(byId.get(a)!.publisher_id, 'taskmanager.tm-host'); // Trove: get_notifier("taskmanager")
  t.like(byId.get(a)!.payload, {
    audit_period_beginning: '2026-12-07T02:00:00Z',
    audit_period_ending: '2026-12-07T03:00:00Z',
    display_name: 'db',
    instance_name: 'db',
    instance_type_id: 'ds1G',
    tenant_id: P,
    state: 'active',
    service_id: '7a4f82cc-10d2-4bc6-aadc-d9aacc2a3cb5',
  });
  t.is(byId.get(b)!.payload.state, 'build');
});

test('service ids and states as Trove gives them', (t) => {
  t.is(serviceIdOf('mysql:abc,redis:def', 'redis'), 'def');
  t.is(serviceIdOf('mysql:abc', 'mongodb'), UNKNOWN_SERVICE_ID);
  const row = { task_id: Tasks.DELETING.code, server_status: 'ACTIVE' } as never;
  t.is(usageState(row), 'shutdown');
  t.is(usageState({ task_id: Tasks.BUILDING_ERROR_SERVER.code, server_status: 'ERROR' } as never), 'error');
});

test('a flow the API announced ends its dbaas notification: .end when done, .error with why when it fails', async (t) => {
  const f = await fixture(t);
  const sent = recorded(f);
  (f.ctx.volumes as { extendVolume: unknown }).extendVolume = async () => undefined;
  const announce = (id: string) => ({
    context: {
      request_id: 'req-7',
      user: 'u1',
      trove_notification: { request_id: 'req-7', server_type: 'api', client_ip: '10.0.0.1', server_ip: 'h:8779', tenant_id: P, instance_id: id, new_size: 3 },
      trove_notification_class: 'trove.common.notification.DBaaSInstanceResizeVolume',
    },
  });
  const ok = await instance(f, { task: Tasks.RESIZING.code });
  await taskmanagerHandlers(f.ctx).resize_volume({ instance_id: ok, new_size: 3 }, announce(ok) as never);
  await settle(f, ok);
  await until(() => sent.some((m) => m.event_type === 'dbaas.instance_resize_volume.end'));
  const end = sent.find((m) => m.event_type === 'dbaas.instance_resize_volume.end')!;
  t.like(end, { priority: 'INFO', publisher_id: 'taskmanager.tm-host', _context_request_id: 'req-7' });
  t.like(end.payload, { server_type: 'taskmanager', instance_id: ok, new_size: 3, request_id: 'req-7', client_ip: '10.0.0.1' });
  // the usage event knows who asked
  t.is(sent.find((m) => m.event_type === 'trove.instance.modify_volume')!.payload.user_id, 'u1');

  f.guest.resize_fs = async () => {
    throw new Error('resize2fs: Device or resource busy');
  };
  const bad = await instance(f, { task: Tasks.RESIZING.code });
  await taskmanagerHandlers(f.ctx).resize_volume({ instance_id: bad, new_size: 3 }, announce(bad) as never);
  await settle(f, bad);
  await until(() => sent.some((m) => m.event_type === 'dbaas.instance_resize_volume.error'));
  const error = sent.find((m) => m.event_type === 'dbaas.instance_resize_volume.error')!;
  t.is(error.priority, 'ERROR');
  t.like(error.payload, { server_type: 'taskmanager', instance_id: bad, request_id: 'req-7' });
  t.regex(String(error.payload.message), /resize2fs: Device or resource busy/);
  t.true(Array.isArray(error.payload.exception));
});

import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger } from '../common/log.js';
import { MemoryBroker, MemoryTransport } from '../rpc/transports/memory.js';
import type { Transport } from '../rpc/transport.js';
import { isotime, pythonUtcTimestamp } from './envelope.js';
import { notifierFromConfig } from './notifier.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger('test', { destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }), level: 'debug' });
  return { lines, log };
}

/** Every message published on `<key>` of the in-process bus. */
async function listen(t: Transport, key: string): Promise<Array<Record<string, unknown>>> {
  const got: Array<Record<string, unknown>> = [];
  await t.declare(key, [key], { durable: false });
  await t.consume(key, async (b) => void got.push(JSON.parse(b.toString()) as Record<string, unknown>));
  return got;
}

/** Waits (bounded) for the in-process bus to hand over what was published. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

test('timestamps as oslo (str(utcnow())) and Trove (isotime) write them', (t) => {
  const at = new Date('2026-12-07T02:10:03.456Z');
  t.is(pythonUtcTimestamp(at), '2026-12-07 02:10:03.456000');
  t.is(isotime(at), '2026-12-07T02:10:03Z');
  t.is(isotime(null), null);
});

test('messagingv2: the 2.0 envelope on <topic>.<priority>, for every topic', async (t) => {
  const bus = new MemoryTransport(new MemoryBroker());
  const info = await listen(bus, 'notifications.info');
  const error = await listen(bus, 'billing.error');
  const { log } = capture();
  const n = notifierFromConfig({ oslo_messaging_notifications: { driver: 'messagingv2', topics: 'notifications, billing' } }, log, {
    service: 'taskmanager',
    transport: bus,
    host: 'tm-1',
  });
  t.true(n.enabled);
  await n.notify('trove.instance.create', { instance_id: 'i-1' }, 'INFO', { publisherId: 'tm-1', context: { request_id: 'req-1', tenant: 'p1' } });
  await n.notify('dbaas.instance_create.error', { message: 'boom' }, 'ERROR');
  await until(() => info.length > 0 && error.length > 0);
  t.is(info.length, 1);
  t.is(info[0]!['oslo.version'], '2.0');
  const m = JSON.parse(info[0]!['oslo.message'] as string) as Record<string, unknown>;
  t.like(m, { publisher_id: 'tm-1', event_type: 'trove.instance.create', priority: 'INFO', payload: { instance_id: 'i-1' } });
  t.like(m, { _context_request_id: 'req-1', _context_tenant: 'p1' });
  t.regex(m.message_id as string, /^[0-9a-f-]{36}$/);
  t.regex(m.timestamp as string, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  t.regex(m._unique_id as string, /^[0-9a-f]{32}$/);
  // billing.info got the first, billing.error the second (default publisher: <service>.<host>)
  t.is(error.length, 1);
  t.like(JSON.parse(error[0]!['oslo.message'] as string), { publisher_id: 'taskmanager.tm-1', priority: 'ERROR', event_type: 'dbaas.instance_create.error' });
  await n.close();
});

test('messaging (1.0): the message bare', async (t) => {
  const bus = new MemoryTransport(new MemoryBroker());
  const info = await listen(bus, 'notifications.info');
  const n = notifierFromConfig({ oslo_messaging_notifications: { driver: 'messaging' } }, capture().log, { service: 'api', transport: bus });
  await n.notify('dbaas.instance_delete.start', { instance_id: 'i-2' });
  await until(() => info.length > 0);
  t.like(info[0], { event_type: 'dbaas.instance_delete.start', payload: { instance_id: 'i-2' } });
  t.false('oslo.version' in info[0]!);
});

test('noop and no driver send nothing; log logs the message', async (t) => {
  const bus = new MemoryTransport(new MemoryBroker());
  const info = await listen(bus, 'notifications.info');
  for (const driver of [undefined, 'noop']) {
    const n = notifierFromConfig({ oslo_messaging_notifications: driver ? { driver } : {} }, capture().log, { service: 'taskmanager', transport: bus });
    t.false(n.enabled);
    await n.notify('trove.instance.create', { instance_id: 'i-3' });
  }
  // a marker sent after them arrives alone: they sent nothing
  const marker = notifierFromConfig({ oslo_messaging_notifications: { driver: 'messaging' } }, capture().log, { service: 'x', transport: bus });
  await marker.notify('marker', {});
  await until(() => info.length > 0);
  t.deepEqual(
    info.map((m) => m.event_type),
    ['marker'],
  );
  const { lines, log } = capture();
  const n = notifierFromConfig({ oslo_messaging_notifications: { driver: 'log' } }, log, { service: 'taskmanager', transport: bus, host: 'h' });
  await n.notify('trove.instance.delete', { instance_id: 'i-4' });
  const line = JSON.parse(lines.find((l) => l.includes('oslo.messaging.notification.trove.instance.delete'))!) as { notification: Record<string, unknown> };
  t.like(line.notification, { event_type: 'trove.instance.delete', publisher_id: 'taskmanager.h', payload: { instance_id: 'i-4' } });
});

test('an unknown driver or a bad transport_url stops startup naming the key', (t) => {
  const { log } = capture();
  t.throws(() => notifierFromConfig({ oslo_messaging_notifications: { driver: 'kafka' } }, log, { service: 'x' }), {
    message: /\[oslo_messaging_notifications\] driver: expected some of messagingv2, messaging, log, noop/,
  });
  t.throws(() => notifierFromConfig({ oslo_messaging_notifications: { driver: 'messagingv2', transport_url: 'kafka://h' } }, log, { service: 'x' }), {
    message: /\[oslo_messaging_notifications\] transport_url/,
  });
});

test('a bus that cannot publish: notify still resolves, the failure is logged once, and its end once', async (t) => {
  let down = true;
  const bus = new MemoryTransport(new MemoryBroker());
  const flaky: Transport = Object.assign(Object.create(bus) as Transport, {
    publish: async (...a: Parameters<Transport['publish']>) => {
      if (down) throw new Error('no AMQP broker reachable within 30 s (rabbit://u:s3cret@h/)');
      return bus.publish(...a);
    },
  });
  const { lines, log } = capture();
  const n = notifierFromConfig({ oslo_messaging_notifications: { driver: 'messagingv2,log' } }, log, { service: 'taskmanager', transport: flaky });
  for (let i = 0; i < 5; i++) await n.notify('trove.instance.exists', { instance_id: `i-${i}` });
  const failures = lines.filter((l) => l.includes('cannot be published'));
  t.is(failures.length, 1);
  t.notRegex(failures[0]!, /s3cret/);
  // the log driver still logged each one
  t.is(lines.filter((l) => l.includes('oslo.messaging.notification.trove.instance.exists')).length, 5);
  down = false;
  await n.notify('trove.instance.exists', { instance_id: 'i-9' });
  t.is(lines.filter((l) => l.includes('published again')).length, 1);
});

// The conductor sends on a guest's dbaas notification as Trove's does (SerializableNotification:
// the payload with its notification_classname): notify_end → .end, notify_exc_info → .error with
// the guest's message and traceback (scrubbed); a class it does not know is logged, not sent.
import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger } from '../common/log.js';
import { createNotifier } from '../notifications/notifier.js';
import type { OsloNotification } from '../notifications/envelope.js';
import { conductorHandlers } from './manager.js';

const BASE = { tenant_id: 'p1', client_ip: '10.0.0.1', server_ip: 'api:8779', server_type: 'guest', request_id: 'req-1' };

function handlers() {
  const sent: OsloNotification[] = [];
  const lines: string[] = [];
  const log = createLogger('t', { destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const notifier = createNotifier([async (m) => void sent.push(m)], log, 'conductor', 'c-host');
  const h = conductorHandlers(undefined as never, log, { notifier });
  const hctx = { context: {}, method: 'notify_end' } as never;
  return { sent, lines, h, hctx };
}

test('notify_end and notify_exc_info of a guest become dbaas .end and .error', async (t) => {
  const { sent, h, hctx } = handlers();
  const serialized = { ...BASE, instance_id: 'i-1', notification_classname: 'trove.common.notification.DBaaSInstanceRestart' };
  await h.notify_end({ serialized_notification: serialized, notification_args: { extra: 1 } }, hctx);
  await h.notify_exc_info({ serialized_notification: serialized, message: 'mysqld failed: password=hunter2', exception: ['Traceback...', 'Error: x'] }, hctx);
  t.is(sent.length, 2);
  t.like(sent[0], {
    event_type: 'dbaas.instance_restart.end',
    priority: 'INFO',
    publisher_id: 'conductor.c-host',
    payload: { ...BASE, instance_id: 'i-1', extra: 1 },
  });
  t.false('notification_classname' in sent[0]!.payload);
  t.like(sent[1], {
    event_type: 'dbaas.instance_restart.error',
    priority: 'ERROR',
    payload: { server_type: 'guest', exception: ['Traceback...', 'Error: x'] },
  });
  t.notRegex(String(sent[1]!.payload.message), /hunter2/);
});

test('a notification of no known action, or missing its required traits, is not sent', async (t) => {
  const { sent, lines, h, hctx } = handlers();
  await h.notify_end(
    { serialized_notification: { ...BASE, notification_classname: 'trove.common.notification.DBaaSSomethingElse' }, notification_args: {} },
    hctx,
  );
  await h.notify_end(
    { serialized_notification: { instance_id: 'i', notification_classname: 'trove.common.notification.DBaaSInstanceRestart' }, notification_args: {} },
    hctx,
  );
  t.is(sent.length, 0);
  t.true(lines.some((l) => l.includes('no known action')));
  t.true(lines.some((l) => l.includes('required traits missing')));
});

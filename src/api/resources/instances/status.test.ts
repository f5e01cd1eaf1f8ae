import test from 'ava';
import { Tasks } from '../../../common/instance-tasks.js';
import { ServiceStatuses } from '../../../common/service-status.js';
import type { InstanceRecord } from '../../../db/instances.js';
import { instanceStatus, isHeartbeatStale, operatingStatus } from './status.js';

function rec(over: Partial<InstanceRecord>): InstanceRecord {
  return {
    task_id: Tasks.NONE.code,
    server_status: 'ACTIVE',
    service_status_id: ServiceStatuses.HEALTHY.code,
    service_status_updated: new Date(),
    ...over,
  } as InstanceRecord;
}
const ok = { backupRunning: false, heartbeatStale: false };

test('status follows task first, then backups, then the server', (t) => {
  t.is(instanceStatus(rec({ task_id: Tasks.BUILDING.code, server_status: null }), ok), 'BUILD');
  t.is(instanceStatus(rec({ task_id: Tasks.BUILDING.code, server_status: 'ERROR' }), ok), 'ERROR');
  t.is(instanceStatus(rec({ task_id: Tasks.BUILDING_ERROR_SERVER.code }), ok), 'ERROR');
  t.is(instanceStatus(rec({ task_id: Tasks.RESIZING.code }), ok), 'RESIZE');
  t.is(instanceStatus(rec({ task_id: Tasks.DELETING.code }), ok), 'SHUTDOWN');
  t.is(instanceStatus(rec({}), { ...ok, backupRunning: true }), 'BACKUP');
  t.is(instanceStatus(rec({ server_status: 'VERIFY_RESIZE' }), ok), 'RESIZE');
  t.is(instanceStatus(rec({}), ok), 'ACTIVE');
  t.is(instanceStatus(rec({ server_status: 'MIGRATING' }), ok), 'UNKNOWN');
  t.is(instanceStatus(rec({}), { ...ok, heartbeatStale: true }), 'SHUTDOWN');
});

test('operating status is the service status only when settled and ACTIVE', (t) => {
  t.is(operatingStatus(rec({}), ok), 'HEALTHY');
  t.is(operatingStatus(rec({ task_id: Tasks.BUILDING.code }), ok), '');
  t.is(operatingStatus(rec({ server_status: 'SHUTDOWN' }), ok), '');
  t.is(operatingStatus(rec({}), { ...ok, heartbeatStale: true }), 'SHUTDOWN');
  t.is(operatingStatus(rec({ service_status_id: ServiceStatuses.RUNNING.code }), ok), 'ACTIVE');
});

test('a heartbeat older than the window is stale', (t) => {
  const now = Date.now();
  t.false(isHeartbeatStale(rec({ service_status_updated: new Date(now - 10_000) }), 90, now));
  t.true(isHeartbeatStale(rec({ service_status_updated: new Date(now - 100_000) }), 90, now));
  t.false(isHeartbeatStale(rec({ task_id: Tasks.BUILDING.code, service_status_updated: new Date(0) }), 90, now));
});

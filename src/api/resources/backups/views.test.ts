import test from 'ava';
import type { BackupRecord } from '../../../db/backups.js';
import { backupView } from './views.js';

const record = (over: Partial<BackupRecord>): BackupRecord => ({
  id: 'b1',
  name: 'nightly',
  description: null,
  location: null,
  backup_type: 'full',
  size: null,
  tenant_id: 'p1',
  state: 'COMPLETED',
  instance_id: 'i1',
  checksum: null,
  parent_id: null,
  datastore_version_id: 'v1',
  storage_driver: 'local',
  schedule_id: null,
  created: new Date('2026-12-03T12:00:00Z'),
  updated: new Date('2026-12-03T12:01:00Z'),
  datastore_name: 'mariadb',
  datastore_version_name: '10.11',
  datastore_manager: 'mariadb',
  ...over,
});

test("a FAILED backup's body says why (fail_reason); any other state has Trove's fields only", (t) => {
  const failed = backupView(record({ state: 'FAILED', fail_reason: 'mariadb-backup exited with code 1: [00] FATAL ERROR: cannot open ./ibdata1' }));
  t.is(failed.status, 'FAILED');
  t.is(failed.fail_reason, 'mariadb-backup exited with code 1: [00] FATAL ERROR: cannot open ./ibdata1');
  t.is(backupView(record({ state: 'FAILED' })).fail_reason, null);
  const done = backupView(record({ state: 'COMPLETED', fail_reason: null }));
  t.false('fail_reason' in done);
  t.deepEqual(Object.keys(done).sort(), [
    'created',
    'datastore',
    'description',
    'id',
    'instance_id',
    'locationRef',
    'name',
    'parent_id',
    'project_id',
    'size',
    'status',
    'storage_driver',
    'updated',
  ]);
});

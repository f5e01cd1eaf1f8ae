import test from 'ava';
import { createThrowawayDb } from '../helpers/throwaway-db.js';
import { syncSchema, pendingMigrations } from '../../src/db/migrate.js';

test('db sync creates every Trove table and a second run is a no-op', async (t) => {
  const tdb = await createThrowawayDb({ migrate: false });
  t.teardown(() => tdb.drop());
  const first = await syncSchema(tdb.db);
  t.true(first.applied.length >= 1);
  const rows = (await tdb.db.raw('SHOW TABLES'))[0] as Array<Record<string, string>>;
  const tables = rows.map((r) => Object.values(r)[0]);
  for (const table of [
    'instances',
    'service_statuses',
    'instance_faults',
    'datastores',
    'datastore_versions',
    'datastore_version_metadata',
    'datastore_configuration_parameters',
    'capabilities',
    'capability_overrides',
    'configurations',
    'configuration_parameters',
    'backups',
    'backup_strategy',
    'clusters',
    'modules',
    'instance_modules',
    'quotas',
    'quota_usages',
    'reservations',
    'root_enabled_history',
    'conductor_lastseen',
    'security_groups',
    'security_group_rules',
    'security_group_instance_associations',
  ]) {
    t.true(tables.includes(table), `missing table ${table}`);
  }
  const second = await syncSchema(tdb.db);
  t.deepEqual(second.applied, []);
  t.deepEqual(await pendingMigrations(tdb.db), []);
});

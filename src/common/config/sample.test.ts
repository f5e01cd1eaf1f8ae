// etc/trove.conf.sample documents every key the services read.
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { apiDefaults, datastoreNamesSection, datastoreReplicationSection, osloPolicySection } from '../../api/config.js';
import { adminTokenSection } from '../../clients/config.js';
import { databaseSection } from '../../db/config.js';
import { keystoneAuthtokenSection, openstackDefaults, serviceCredentialsSection } from '../../clients/openstack/config.js';
import { parseIni } from './reader.js';
import { messagingDefaults, rabbitSection } from '../../rpc/config.js';
import { datastorePortsSection, taskmanagerDefaults } from '../../taskmanager/config.js';
import { localSection } from '../../clients/local/config.js';
import { secureRpcDefaults } from '../../rpc/secure.js';
import { healthcheckSection, metricsSection } from '../metrics/config.js';
import { upgradeLevelsSection } from '../../rpc/upgrade-levels.js';
import { notificationsSection } from '../../notifications/config.js';

export const DOCUMENTED: Array<[string, z.ZodObject]> = [
  ['DEFAULT', apiDefaults],
  ['DEFAULT', adminTokenSection],
  ['DEFAULT', openstackDefaults],
  ['DEFAULT', messagingDefaults],
  ['DEFAULT', taskmanagerDefaults],
  ['DEFAULT', secureRpcDefaults],
  ['local', localSection],
  ['mariadb', datastorePortsSection],
  ['mariadb', datastoreNamesSection],
  ['mariadb', datastoreReplicationSection],
  ['database', databaseSection],
  ['keystone_authtoken', keystoneAuthtokenSection],
  ['service_credentials', serviceCredentialsSection],
  ['oslo_policy', osloPolicySection],
  ['oslo_messaging_rabbit', rabbitSection],
  ['metrics', metricsSection],
  ['healthcheck', healthcheckSection],
  ['upgrade_levels', upgradeLevelsSection],
  ['oslo_messaging_notifications', notificationsSection],
];

test('every key of every section schema is in etc/trove.conf.sample', (t) => {
  const text = readFileSync(new URL('../../../etc/trove.conf.sample', import.meta.url), 'utf8');
  const uncommented = parseIni(text.replace(/^#(\w+\s*=)/gm, '$1'), 'sample');
  for (const [section, schema] of DOCUMENTED) {
    for (const key of Object.keys(schema.shape)) {
      t.true(key in (uncommented[section] ?? {}), `[${section}] ${key} is not documented`);
    }
  }
});

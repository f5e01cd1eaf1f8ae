// The real `openstack database configuration ...` CLI through Keystone against the whole control
// plane with a real mariadbd guest: parameter list, create, list, show, attach (dynamic value live,
// static one RESTART_REQUIRED), instances, detach, delete; bad values refused with Trove's message.
import test from 'ava';
import axios from 'axios';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { DEMO, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { openstack, openstackJson } from '../helpers/openstack-cli.js';
import { runBin } from '../helpers/run-bin.js';
import { registerDatastore } from '../helpers/datastores.js';

const REGION = 'trove-ts-test-configurations';
let cp: ControlPlane;
let demoToken: string;
let demoProject: string;

test.before(async () => {
  cp = await startControlPlane({ config: keystoneConfig() });
  await registerDatastore(cp.tdb.db);
  const r = await runBin('trove-manage', [
    '--config-file',
    cp.confFile,
    'db_load_datastore_config_parameters',
    'mariadb',
    '10.11',
    'etc/datastores/mariadb/validation-rules.json',
  ]);
  if (r.code !== 0) throw new Error(r.stderr);
  const ks = await keystoneAdmin();
  await ks.endpoint('database', 'trove-ts', `${cp.api.url}/v1.0/$(tenant_id)s`, REGION);
  const tok = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  demoToken = tok.token;
  demoProject = tok.projectId;
});
test.after.always(() => cp?.stop());

const cli = (...args: string[]) => openstack(DEMO, REGION, args);
const json = <T>(...args: string[]) => openstackJson<T>(DEMO, REGION, args);
const http = () => axios.create({ baseURL: `${cp.api.url}/v1.0/${demoProject}`, headers: { 'X-Auth-Token': demoToken }, validateStatus: () => true });

test.serial('configuration parameter list / create / list / show / attach / instances / detach / delete with the real CLI', async (t) => {
  const params = await json<Array<Record<string, unknown>>>('database', 'configuration', 'parameter', 'list', '10.11', '--datastore', 'mariadb');
  const mc = params.find((p) => p.Name === 'max_connections');
  t.deepEqual(mc, { Name: 'max_connections', Type: 'integer', 'Min Size': 1, 'Max Size': 100000, 'Restart Required': false });
  t.is(params.find((p) => p.Name === 'innodb_open_files')?.['Restart Required'], true);

  const bad = await cli('database', 'configuration', 'create', 'bad', '{"max_connections": 0}', '--datastore', 'mariadb', '--datastore-version', '10.11');
  t.not(bad.code, 0);
  t.regex(bad.stderr, /less than the minimum allowed: 1 \(HTTP 422\)/);

  const created = await json<Record<string, unknown>>(
    'database',
    'configuration',
    'create',
    'cli-tuned',
    '{"max_connections": 222, "innodb_open_files": 333}',
    '--datastore',
    'mariadb',
    '--datastore-version',
    '10.11',
    '--description',
    'from the CLI',
  );
  t.is(created.name, 'cli-tuned');
  t.is(created.datastore_name, 'mariadb');
  t.is(created.datastore_version_name, '10.11');
  t.is(created.description, 'from the CLI');
  t.is(created.instance_count, 0);
  t.deepEqual(JSON.parse(String(created.values)), { innodb_open_files: 333, max_connections: 222 });
  const gid = String(created.id);

  const list = await json<Array<Record<string, unknown>>>('database', 'configuration', 'list');
  t.deepEqual(
    list.find((c) => c.ID === gid),
    {
      ID: gid,
      Name: 'cli-tuned',
      Description: 'from the CLI',
      'Datastore Name': 'mariadb',
      'Datastore Version Name': '10.11',
      'Datastore Version Number': '10.11',
    },
  );
  const shown = await json<Record<string, unknown>>('database', 'configuration', 'show', 'cli-tuned');
  t.is(shown.id, gid);
  t.deepEqual(JSON.parse(String(shown.values)), { innodb_open_files: 333, max_connections: 222 });

  const inst = await json<Record<string, unknown>>(
    'database',
    'instance',
    'create',
    'cfgcli',
    '--flavor',
    'ds512M',
    '--size',
    '1',
    '--datastore',
    'mariadb',
    '--datastore-version',
    '10.11',
    '--users',
    'app:Cli-Cfg-Pass-9',
  );
  const id = String(inst.id);
  const active = await waitForInstance(http(), id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  t.is(active?.status, 'ACTIVE');
  const ip = (active!.ip as string[])[0]!;

  const attach = await cli('database', 'configuration', 'attach', 'cfgcli', 'cli-tuned');
  t.is(attach.code, 0, attach.stderr);
  const pending = await waitForInstance(http(), id, (i) => i?.status === 'RESTART_REQUIRED' || i?.status === 'ERROR', 60_000);
  t.is(pending?.status, 'RESTART_REQUIRED');
  const c = await mysql.createConnection({ host: ip, user: 'app', password: 'Cli-Cfg-Pass-9' });
  const [rows] = await c.query("SHOW GLOBAL VARIABLES LIKE 'max_connections'");
  await c.end();
  t.deepEqual(rows, [{ Variable_name: 'max_connections', Value: '222' }]);
  const show = await json<Record<string, unknown>>('database', 'instance', 'show', 'cfgcli');
  t.is(show.status, 'RESTART_REQUIRED');
  t.is(show.configuration, gid);
  const users = await json<Array<Record<string, unknown>>>('database', 'configuration', 'instances', 'cli-tuned');
  t.deepEqual(users, [{ ID: id, Name: 'cfgcli' }]);
  const effective = await json<Record<string, unknown>>('database', 'configuration', 'default', 'cfgcli');
  t.is(effective.max_connections, 222);

  const inUse = await cli('database', 'configuration', 'delete', 'cli-tuned');
  t.not(inUse.code, 0);
  t.regex(inUse.stderr + inUse.stdout, /associated with one or more non-terminated instances/);

  const detach = await cli('database', 'configuration', 'detach', 'cfgcli');
  t.is(detach.code, 0, detach.stderr);
  const detached = await waitForInstance(
    http(),
    id,
    (i) => (i?.status === 'RESTART_REQUIRED' && i?.configuration === undefined) || i?.status === 'ERROR',
    60_000,
  );
  t.is(detached?.status, 'RESTART_REQUIRED');
  // without a group: the engine's own my.cnf settings for the flavor (Trove's default configuration)
  const defaults = await json<Record<string, unknown>>('database', 'configuration', 'default', 'cfgcli');
  t.is(defaults.max_connections, 50);
  t.is(defaults.innodb_buffer_pool_size, 256 * 1024 * 1024);
  t.is(defaults.bind_address, ip);
  const del = await cli('database', 'configuration', 'delete', 'cli-tuned');
  t.is(del.code, 0, del.stderr);
  const gone = await cli('database', 'configuration', 'show', gid);
  t.not(gone.code, 0);
  t.is((await cli('database', 'instance', 'delete', id)).code, 0);
});

// The real python-troveclient (`openstack datastore ...`, `openstack database ...`) against a
// running trove-api, through a real Keystone whose catalog lists trove-api as `database`.
// Datastores are registered with the real trove-manage. Assertions are on printed values.
import test from 'ava';
import axios from 'axios';
import { createThrowawayDb, type ThrowawayDb } from '../helpers/throwaway-db.js';
import { runBin } from '../helpers/run-bin.js';
import { mergeConf, startApiProcess, writeConf, type ApiProcess } from '../helpers/api-process.js';
import { ADMIN, DEMO, READER, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { openstack, openstackJson } from '../helpers/openstack-cli.js';

const REGION = 'trove-ts-test';
let tdb: ThrowawayDb;
let api: ApiProcess;
let adminProject: string;
let demoProject: string;

test.before(async () => {
  tdb = await createThrowawayDb();
  // the service looks up Nova/Cinder in this test's own region, where there are none (the cloud
  // lab registers real ones in RegionOne)
  const ks0 = keystoneConfig();
  const conf = mergeConf(
    { database: { connection: tdb.url } },
    {
      keystone_authtoken: { ...ks0.keystone_authtoken, region_name: REGION },
      service_credentials: { ...ks0.service_credentials, region_name: REGION },
    },
  );
  const confFile = writeConf(conf);
  const manage = async (...args: string[]) => {
    const r = await runBin('trove-manage', ['--config-file', confFile, ...args]);
    if (r.code !== 0) throw new Error(`trove-manage ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await manage('datastore_version_update', 'mysql', '8.0', 'mysql', '', '', '1', '--image-tags', 'trove,mysql', '--version', '8.0.39');
  await manage('datastore_version_update', 'mysql', '5.7', 'mysql', '', '', '0', '--image-tags', 'trove,mysql', '--version', '5.7.29');
  await manage('datastore_update', 'mysql', '8.0');
  await manage('db_load_datastore_config_parameters', 'mysql', '8.0', 'etc/datastores/mysql/validation-rules.json');
  api = await startApiProcess(conf);
  const ks = await keystoneAdmin();
  await ks.endpoint('database', 'trove-ts', `${api.url}/v1.0/$(tenant_id)s`, REGION);
  adminProject = (await ks.project(ADMIN.project)).id;
  demoProject = (await ks.project(DEMO.project)).id;
});

test.after.always(async () => {
  await api?.stop();
  await tdb?.drop();
});

test('openstack datastore list / show print the registered datastore', async (t) => {
  const list = await openstackJson<Array<{ ID: string; Name: string }>>(DEMO, REGION, ['datastore', 'list']);
  const ds = await tdb.db('datastores').where({ name: 'mysql' }).first();
  t.deepEqual(list, [{ ID: ds.id, Name: 'mysql' }]);
  const show = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['datastore', 'show', 'mysql']);
  t.is(show.id, ds.id);
  t.is(show.name, 'mysql');
  t.regex(String(show.versions ?? show.default_version ?? ''), /8\.0|[0-9a-f-]{36}/);
});

test('openstack datastore version list / show', async (t) => {
  const demoList = await openstackJson<Array<{ Name: string }>>(DEMO, REGION, ['datastore', 'version', 'list', 'mysql']);
  t.deepEqual(
    demoList.map((v) => v.Name),
    ['8.0'],
    'a member sees active versions only',
  );
  const adminList = await openstackJson<Array<{ Name: string }>>(ADMIN, REGION, ['datastore', 'version', 'list', 'mysql']);
  t.deepEqual(adminList.map((v) => v.Name).sort(), ['5.7', '8.0']);
  const show = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['datastore', 'version', 'show', '8.0', '--datastore', 'mysql']);
  t.is(show.name, '8.0');
  t.is(show.version, '8.0.39');
  const v = await tdb.db('datastore_versions').where({ name: '8.0' }).first();
  t.is(show.id, v.id);
});

test('openstack database configuration parameter list shows the loaded rules', async (t) => {
  const params = await openstackJson<Array<Record<string, unknown>>>(DEMO, REGION, [
    'database',
    'configuration',
    'parameter',
    'list',
    '8.0',
    '--datastore',
    'mysql',
  ]);
  const mc = params.find((p) => p.Name === 'max_connections');
  t.truthy(mc);
  t.is(mc!.Type, 'integer');
  t.is(mc!['Min Size'], 1);
  t.is(mc!['Max Size'], 100000);
});

test('openstack database limit list prints the absolute limits and rate limits', async (t) => {
  const r = await openstack(DEMO, REGION, ['database', 'limit', 'list']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /max_instances\s*\|\s*10/i);
  t.regex(r.stdout, /max_backups\s*\|\s*50/i);
  t.regex(r.stdout, /max_volumes\s*\|\s*40/i);
  t.regex(r.stdout, /max_ram\s*\|\s*-1/i);
  t.regex(r.stdout, /\|\s*GET\s*\|/);
});

test('openstack database quota show for the own project; quota update as admin', async (t) => {
  const rows = await openstackJson<Array<{ Resource: string; 'In Use': number; Reserved: number; Limit: number }>>(DEMO, REGION, [
    'database',
    'quota',
    'show',
    demoProject,
  ]);
  t.deepEqual(
    rows.find((r) => r.Resource === 'instances'),
    { Resource: 'instances', 'In Use': 0, Reserved: 0, Limit: 10 },
  );
  const upd = await openstack(ADMIN, REGION, ['database', 'quota', 'update', demoProject, 'instances', '7']);
  t.is(upd.code, 0, upd.stderr);
  const after = await openstackJson<Array<{ Resource: string; Limit: number }>>(DEMO, REGION, ['database', 'quota', 'show', demoProject]);
  t.is(after.find((r) => r.Resource === 'instances')!.Limit, 7);
  const denied = await openstack(DEMO, REGION, ['database', 'quota', 'update', demoProject, 'instances', '99']);
  t.not(denied.code, 0);
  t.regex(denied.stderr, /403|Policy doesn't allow|not allowed/i);
});

test('openstack database flavor list without Nova in the catalog fails with a clear error', async (t) => {
  const r = await openstack(DEMO, REGION, ['database', 'flavor', 'list']);
  t.not(r.code, 0);
  t.regex(r.stderr, /No endpoint of type compute|503/);
});

test('a token of the demo project gets 403 on the admin project URL; no token and a bogus token get 401', async (t) => {
  const ks = await keystoneAdmin();
  const demo = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  const cross = await axios.get(`${api.url}/v1.0/${adminProject}/datastores`, { headers: { 'X-Auth-Token': demo.token }, validateStatus: () => true });
  t.is(cross.status, 403);
  t.regex(cross.data.message, new RegExp(`tenant id ${demo.projectId} cannot access`));
  const none = await axios.get(`${api.url}/v1.0/${demoProject}/datastores`, { validateStatus: () => true });
  t.is(none.status, 401);
  t.regex(String(none.headers['www-authenticate']), /^Keystone uri="http:\/\/127\.0\.0\.1:5000"$/);
  const bogus = await axios.get(`${api.url}/v1.0/${demoProject}/datastores`, { headers: { 'X-Auth-Token': 'gAAAAA-bogus' }, validateStatus: () => true });
  t.is(bogus.status, 401);
  const ok = await axios.get(`${api.url}/v1.0/${demoProject}/datastores`, { headers: { 'X-Auth-Token': demo.token }, validateStatus: () => true });
  t.is(ok.status, 200);
  await ks.revoke(demo.token);
  // a revoked token is refused once the validation cache entry is gone: use a fresh API-side token by checking a new one
  const demo2 = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  await ks.revoke(demo2.token);
  const revoked = await axios.get(`${api.url}/v1.0/${demoProject}/datastores`, { headers: { 'X-Auth-Token': demo2.token }, validateStatus: () => true });
  t.is(revoked.status, 401);
});

test('a reader may list but not create instances', async (t) => {
  const list = await openstack(READER, REGION, ['database', 'instance', 'list']);
  t.is(list.code, 0, list.stderr);
  const ks = await keystoneAdmin();
  const reader = await ks.token(READER.name, READER.password, READER.project);
  const create = await axios.post(
    `${api.url}/v1.0/${reader.projectId}/instances`,
    { instance: { name: 'r1', flavorRef: '1', volume: { size: 1 } } },
    { headers: { 'X-Auth-Token': reader.token }, validateStatus: () => true },
  );
  t.is(create.status, 403);
  t.deepEqual(create.data, { forbidden: { code: 403, message: "Policy doesn't allow instance:create to be performed." } });
  t.false(api.output().includes(reader.token), 'the token is not in the log');
  t.regex(api.output(), /"msg":"request"/);
});

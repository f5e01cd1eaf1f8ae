// The real `openstack database db|user|root ...` CLI through Keystone against the whole control
// plane, on an instance whose guest runs a real mariadbd; each printed value is checked, and the
// engine is checked with a real client.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import axios from 'axios';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { DEMO, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { openstack, openstackJson } from '../helpers/openstack-cli.js';
import { registerDatastore } from '../helpers/datastores.js';

const REGION = 'trove-ts-test-dbusers';
let cp: ControlPlane;
let id: string;
let ip: string;

test.before(async () => {
  cp = await startControlPlane({ config: keystoneConfig() });
  await registerDatastore(cp.tdb.db);
  const ks = await keystoneAdmin();
  await ks.endpoint('database', 'trove-ts', `${cp.api.url}/v1.0/$(tenant_id)s`, REGION);
  const tok = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  const created = await openstackJson<Record<string, unknown>>(DEMO, REGION, [
    'database',
    'instance',
    'create',
    'dbu1',
    '--flavor',
    'ds512M',
    '--size',
    '1',
    '--datastore',
    'mariadb',
  ]);
  id = String(created.id);
  const http = axios.create({ baseURL: `${cp.api.url}/v1.0/${tok.projectId}`, headers: { 'X-Auth-Token': tok.token }, validateStatus: () => true });
  const active = await waitForInstance(http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  ip = String((active!.ip as string[])[0]);
});
test.after.always(() => cp?.stop());

const cli = (...args: string[]) => openstack(DEMO, REGION, args);
const ok = async (t: { is: (a: unknown, b: unknown, m?: string) => void }, ...args: string[]) => {
  const r = await cli(...args);
  t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
};
const sql = (user: string, password: string, db: string, query: string) =>
  execFileSync('mariadb', ['-h', ip, '-u', user, `-p${password}`, db, '-N', '-e', query], { stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();

test.serial('database db create / list / delete', async (t) => {
  await ok(t, 'database', 'db', 'create', 'dbu1', 'shop');
  await ok(t, 'database', 'db', 'create', 'dbu1', 'legacy', '--character_set', 'latin1', '--collate', 'latin1_swedish_ci');
  const list = await openstackJson<Array<{ Name: string }>>(DEMO, REGION, ['database', 'db', 'list', 'dbu1']);
  t.deepEqual(
    list.map((d) => d.Name),
    ['legacy', 'shop'],
  );
  const dup = await cli('database', 'db', 'create', 'dbu1', 'shop');
  t.not(dup.code, 0);
  t.regex(dup.stderr, /already exists.*\(HTTP 400\)/);
  const reserved = await cli('database', 'db', 'create', 'dbu1', 'mysql');
  t.not(reserved.code, 0);
  t.regex(reserved.stderr, /HTTP 400/);
  await ok(t, 'database', 'db', 'delete', 'dbu1', 'legacy');
  t.deepEqual(
    (await openstackJson<Array<{ Name: string }>>(DEMO, REGION, ['database', 'db', 'list', 'dbu1'])).map((d) => d.Name),
    ['shop'],
  );
});

test.serial('database user create / list / show / grant / show access / revoke / update / delete', async (t) => {
  await ok(t, 'database', 'user', 'create', 'dbu1', 'app', 'App-pass-1', '--databases', 'shop');
  t.is(sql('app', 'App-pass-1', 'shop', 'SELECT DATABASE()'), 'shop');
  const users = await openstackJson<Array<Record<string, string>>>(DEMO, REGION, ['database', 'user', 'list', 'dbu1']);
  t.deepEqual(
    users.map((u) => [u.Name, u.Host, u.Databases]),
    [['app', '%', 'shop']],
  );
  const show = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'user', 'show', 'dbu1', 'app']);
  t.is(show.name, 'app');
  t.is(show.host, '%');
  t.deepEqual(show.databases, [{ name: 'shop' }]);

  await ok(t, 'database', 'db', 'create', 'dbu1', 'logs');
  await ok(t, 'database', 'user', 'grant', 'access', 'dbu1', 'app', 'logs');
  const access = await openstackJson<Array<{ Name: string }>>(DEMO, REGION, ['database', 'user', 'show', 'access', 'dbu1', 'app']);
  t.deepEqual(
    access.map((d) => d.Name),
    ['logs', 'shop'],
  );
  await ok(t, 'database', 'user', 'revoke', 'access', 'dbu1', 'app', 'logs');
  t.deepEqual(
    (await openstackJson<Array<{ Name: string }>>(DEMO, REGION, ['database', 'user', 'show', 'access', 'dbu1', 'app'])).map((d) => d.Name),
    ['shop'],
  );

  await ok(t, 'database', 'user', 'update', 'attributes', 'dbu1', 'app', '--new_password', 'App-pass-2');
  t.is(sql('app', 'App-pass-2', 'shop', 'SELECT 1'), '1');
  await ok(t, 'database', 'user', 'delete', 'dbu1', 'app');
  t.deepEqual(await openstackJson(DEMO, REGION, ['database', 'user', 'list', 'dbu1']), []);
  const gone = await cli('database', 'user', 'show', 'dbu1', 'app');
  t.not(gone.code, 0);
  t.regex(gone.stderr, /HTTP 404/);
});

test.serial('database root enable / show / disable', async (t) => {
  const before = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'root', 'show', 'dbu1']);
  t.is(before.is_root_enabled, false);
  const en = await openstackJson<Record<string, string>>(DEMO, REGION, ['database', 'root', 'enable', 'dbu1']);
  t.is(en.name, 'root');
  t.true(en.password!.length >= 16);
  t.is(sql('root', en.password!, 'mysql', 'SELECT CURRENT_USER()'), 'root@%');
  const after = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'root', 'show', 'dbu1']);
  t.is(after.is_root_enabled, true);
  await ok(t, 'database', 'root', 'disable', 'dbu1');
  t.throws(() => sql('root', en.password!, 'mysql', 'SELECT 1'));
});

// The real `openstack database ...` CLI through Keystone against the whole control plane with
// PostgreSQL and Redis guests: instance create of each, db create/list and user create on
// PostgreSQL checked with a real psql writing and reading a row; root enable on Redis checked with
// a real redis-cli SET/GET; `configuration default` prints each engine's effective settings; then
// `backup create -i` of each and `instance create --backup` into a new instance, the data read back
// with psql and redis-cli.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import axios, { type AxiosInstance } from 'axios';
import { detectPostgresql } from '../../guestagent/engines/postgresql/detect.js';
import { startControlPlane, waitForBackup, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { DEMO, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { openstack, openstackJson } from '../helpers/openstack-cli.js';

const REGION = 'trove-ts-test-engines';
let cp: ControlPlane;
let http: AxiosInstance;
let pgVersion: string;

async function register(name: string, version: string): Promise<void> {
  const ds = randomUUID();
  const v = randomUUID();
  await cp.tdb.db('datastores').insert({ id: ds, name, default_version_id: v });
  await cp.tdb
    .db('datastore_versions')
    .insert({ id: v, datastore_id: ds, name: version, version, manager: name, image_id: 'local', packages: '', active: true });
}

test.before(async () => {
  const detected = await detectPostgresql();
  if (!detected) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/<version>/bin)');
  pgVersion = detected.name;
  cp = await startControlPlane({ config: keystoneConfig() });
  await register('postgresql', pgVersion);
  await register('redis', '7.0');
  const ks = await keystoneAdmin();
  await ks.endpoint('database', 'trove-ts', `${cp.api.url}/v1.0/$(tenant_id)s`, REGION);
  const tok = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  http = axios.create({ baseURL: `${cp.api.url}/v1.0/${tok.projectId}`, headers: { 'X-Auth-Token': tok.token }, validateStatus: () => true });
});
test.after.always(() => cp?.stop());

const cli = (...args: string[]) => openstack(DEMO, REGION, args);
const json = <T>(...args: string[]) => openstackJson<T>(DEMO, REGION, args);
const ok = async (t: { is: (a: unknown, b: unknown, m?: string) => void }, ...args: string[]) => {
  const r = await cli(...args);
  t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
};
const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';

const psqlAt = (ip: string, sql: string) =>
  execFileSync('psql', ['-h', ip, '-U', 'app', '-d', 'shop', '-tA', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { PATH: '/usr/bin:/bin', PGPASSWORD: 'Pg-Cli-Pass-1', PGCONNECT_TIMEOUT: '5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString()
    .trim();
const redisAt = (ip: string, password: string | undefined, ...args: string[]) =>
  execFileSync('redis-cli', ['-h', ip, '-p', '6379', '--no-raw', ...args], {
    env: { PATH: '/usr/bin:/bin', ...(password ? { REDISCLI_AUTH: password } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString()
    .trim();

async function createAndWait(name: string, datastore: string, version: string): Promise<{ id: string; ip: string }> {
  const created = await json<Record<string, unknown>>(
    'database',
    'instance',
    'create',
    name,
    '--flavor',
    'ds512M',
    '--size',
    '1',
    '--datastore',
    datastore,
    '--datastore-version',
    version,
  );
  const id = String(created.id);
  const active = await waitForInstance(http, id, ready);
  if (active?.status !== 'ACTIVE') throw new Error(`${name}: ${JSON.stringify(active)}`);
  const shown = await json<Record<string, unknown>>('database', 'instance', 'show', name);
  if (shown.status !== 'ACTIVE' || shown.datastore !== datastore) throw new Error(`${name}: ${JSON.stringify(shown)}`);
  return { id, ip: String((active.ip as string[])[0]) };
}

test.serial('postgresql: instance create, db create/list, user create; psql writes and reads a row', async (t) => {
  const { ip } = await createAndWait('pg1', 'postgresql', pgVersion);
  await ok(t, 'database', 'db', 'create', 'pg1', 'shop');
  await ok(t, 'database', 'db', 'create', 'pg1', 'logs');
  const dbs = await json<Array<{ Name: string }>>('database', 'db', 'list', 'pg1');
  t.deepEqual(
    dbs.map((d) => d.Name),
    ['logs', 'shop'],
  );
  const reserved = await cli('database', 'db', 'create', 'pg1', 'template1');
  t.not(reserved.code, 0);
  t.regex(reserved.stderr, /HTTP 400/);
  await ok(t, 'database', 'user', 'create', 'pg1', 'app', 'Pg-Cli-Pass-1', '--databases', 'shop');
  const users = await json<Array<Record<string, string>>>('database', 'user', 'list', 'pg1');
  t.deepEqual(
    users.map((u) => [u.Name, u.Host, u.Databases]),
    [['app', '%', 'shop']],
  );
  const psql = (sql: string) => psqlAt(ip, sql);
  psql('CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
  psql("INSERT INTO t VALUES (1, 'hello')");
  t.is(psql('SELECT v FROM t WHERE id = 1'), 'hello');

  const def = await json<Record<string, unknown>>('database', 'configuration', 'default', 'pg1');
  t.is(def.shared_buffers, '128MB');
  t.is(def.max_connections, 64);
  t.is(def.listen_addresses, ip);
});

test.serial('redis: instance create, root enable; redis-cli SET/GET with that password', async (t) => {
  const { ip } = await createAndWait('rd1', 'redis', '7.0');
  const redis = (password: string | undefined, ...args: string[]) => redisAt(ip, password, ...args);
  t.regex(redis(undefined, 'SET', 'k', 'v'), /NOAUTH|NOPERM|ERR/, 'closed until root is enabled');
  const before = await json<Record<string, unknown>>('database', 'root', 'show', 'rd1');
  t.is(before.is_root_enabled, false);
  const en = await json<Record<string, string>>('database', 'root', 'enable', 'rd1');
  t.is(en.name, 'default');
  t.true(en.password!.length >= 16);
  t.is(redis(en.password, 'SET', 'greeting', 'hello'), 'OK');
  t.is(redis(en.password, 'GET', 'greeting'), '"hello"');
  t.is((await json<Record<string, unknown>>('database', 'root', 'show', 'rd1')).is_root_enabled, true);
  const noDb = await cli('database', 'db', 'list', 'rd1');
  t.not(noDb.code, 0);
  t.regex(noDb.stderr, /not supported for the 'redis' datastore.*\(HTTP 501\)/);

  const def = await json<Record<string, unknown>>('database', 'configuration', 'default', 'rd1');
  t.is(def.maxmemory, '384mb');
  t.is(def.appendonly, 'yes');
  t.is(def['maxmemory-policy'], undefined, 'no group: the engine default, not written');
});

/** `backup create -i <instance>`, waited for until it is COMPLETED (or FAILED), then `backup show`. */
async function backupAndWait(name: string, instance: string): Promise<Record<string, unknown>> {
  const b = await json<Record<string, unknown>>('database', 'backup', 'create', name, '-i', instance);
  if (b.status !== 'NEW') throw new Error(`${name}: ${JSON.stringify(b)}`);
  // waited for through the API (each CLI call is a Python start and a Keystone login), then shown by the CLI
  await waitForBackup(http, String(b.id));
  return json<Record<string, unknown>>('database', 'backup', 'show', name);
}

/** `instance create --backup`, waited for. */
async function restoreAndWait(name: string, backup: string): Promise<{ id: string; ip: string; status: unknown }> {
  const created = await json<Record<string, unknown>>('database', 'instance', 'create', name, '--flavor', 'ds512M', '--size', '1', '--backup', backup);
  const active = await waitForInstance(http, String(created.id), ready);
  return { id: String(created.id), ip: String((active?.ip as string[] | undefined)?.[0]), status: active?.status };
}

test.serial('postgresql: backup create -i pg1, instance create --backup; psql reads the row back from the new instance', async (t) => {
  const shown = await backupAndWait('pg-nightly', 'pg1');
  t.is(shown.status, 'COMPLETED', JSON.stringify(shown));
  const copy = await restoreAndWait('pg1-copy', 'pg-nightly');
  t.is(copy.status, 'ACTIVE');
  t.is(psqlAt(copy.ip, 'SELECT v FROM t WHERE id = 1'), 'hello');
  const dbs = await json<Array<{ Name: string }>>('database', 'db', 'list', 'pg1-copy');
  t.deepEqual(
    dbs.map((d) => d.Name),
    ['logs', 'shop'],
  );
});

test.serial('redis: backup create -i rd1, instance create --backup; root enable on the new instance, redis-cli GET reads the value back', async (t) => {
  const shown = await backupAndWait('rd-nightly', 'rd1');
  t.is(shown.status, 'COMPLETED', JSON.stringify(shown));
  const copy = await restoreAndWait('rd1-copy', 'rd-nightly');
  t.is(copy.status, 'ACTIVE');
  t.is((await json<Record<string, unknown>>('database', 'root', 'show', 'rd1-copy')).is_root_enabled, false, "the new instance's own ACL");
  const en = await json<Record<string, string>>('database', 'root', 'enable', 'rd1-copy');
  t.is(redisAt(copy.ip, en.password, 'GET', 'greeting'), '"hello"');
});

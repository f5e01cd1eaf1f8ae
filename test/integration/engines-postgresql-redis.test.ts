// PostgreSQL and Redis end to end on real parts: datastores registered with their rules, one
// instance of each through trove-api → RabbitMQ → trove-taskmanager → local compute (a guest agent
// process) → a real postgres / redis-server. PostgreSQL: databases, users, grants and root through
// the API, checked with a real pg connection; a configuration group's dynamic value live (SHOW).
// Redis: root's password AUTHs and SET/GET works; database and user calls are Trove's 501; a group
// value live (CONFIG GET). Both: `configuration default` shows the engine's effective settings.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { loadConfigParameters, type ParameterRule } from '../../src/db/datastores.js';
import { detectPostgresql } from '../../guestagent/engines/postgresql/detect.js';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { withRedis } from '../helpers/redis-client.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

let cp: ControlPlane;
let pgVersion: string;
const inst: Record<'postgresql' | 'redis', { id: string; ip: string }> = { postgresql: { id: '', ip: '' }, redis: { id: '', ip: '' } };
const APP_PW = 'Pg-App-Secret-31';

const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';

async function register(name: string, version: string, manager: string): Promise<void> {
  const ds = randomUUID();
  const v = randomUUID();
  await cp.tdb.db('datastores').insert({ id: ds, name, default_version_id: v });
  await cp.tdb.db('datastore_versions').insert({ id: v, datastore_id: ds, name: version, version, manager, image_id: 'local', packages: '', active: true });
  const rules = JSON.parse(readFileSync(`etc/datastores/${manager}/validation-rules.json`, 'utf8'))['configuration-parameters'] as ParameterRule[];
  await loadConfigParameters(cp.tdb.db, v, rules);
}

test.before(async () => {
  const detected = await detectPostgresql();
  if (!detected) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/<version>/bin)');
  pgVersion = detected.name;
  cp = await startControlPlane();
  await register('postgresql', pgVersion, 'postgresql');
  await register('redis', '7.0', 'redis');
  // both at once, as a user of the all-in-one mode would
  const created = await Promise.all(
    (['postgresql', 'redis'] as const).map((type) =>
      cp.http.post('/instances', {
        instance: {
          name: `e2e-${type}`,
          flavorRef: '1',
          volume: { size: 1 },
          datastore: { type },
          ...(type === 'postgresql' ? { databases: [{ name: 'shop' }], users: [{ name: 'app', password: APP_PW, databases: [{ name: 'shop' }] }] } : {}),
        },
      }),
    ),
  );
  for (const [i, type] of (['postgresql', 'redis'] as const).entries()) {
    if (created[i]!.status !== 200) throw new Error(`create ${type}: ${JSON.stringify(created[i]!.data)}`);
    inst[type].id = created[i]!.data.instance.id;
  }
  for (const type of ['postgresql', 'redis'] as const) {
    const active = await waitForInstance(cp.http, inst[type].id, ready);
    if (active?.status !== 'ACTIVE') throw new Error(`${type} did not become ACTIVE: ${JSON.stringify(active)}`);
    inst[type].ip = (active.ip as string[])[0]!;
  }
});

test.after.always(async () => {
  await cp?.stop();
});

// ---- PostgreSQL

async function pgQuery<T extends pg.QueryResultRow>(user: string, password: string, database: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ host: inst.postgresql.ip, port: 5432, user, password, database, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}
const pgCan = (user: string, password: string, database: string) =>
  pgQuery(user, password, database, 'SELECT 1').then(
    () => true,
    () => false,
  );

test.serial("postgresql: the create call's database and user; a row written and read over TCP", async (t) => {
  t.regex(inst.postgresql.ip, /^127\.0\.\d+\.\d+$/);
  await pgQuery('app', APP_PW, 'shop', 'CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
  await pgQuery('app', APP_PW, 'shop', 'INSERT INTO t VALUES (1, $1)', ['hello']);
  t.deepEqual(await pgQuery('app', APP_PW, 'shop', 'SELECT v FROM t'), [{ v: 'hello' }]);
  const show = await cp.http.get(`/instances/${inst.postgresql.id}`);
  t.is(show.data.instance.datastore.type, 'postgresql');
  t.is(show.data.instance.datastore.version, pgVersion);
});

test.serial('postgresql: databases and users through the API, checked with a real pg connection', async (t) => {
  const id = inst.postgresql.id;
  const c = await cp.http.post(`/instances/${id}/databases`, { databases: [{ name: 'logs' }, { name: 'zeta' }] });
  t.is(c.status, 202, JSON.stringify(c.data));
  t.deepEqual(
    (await cp.http.get(`/instances/${id}/databases`)).data.databases.map((d: { name: string }) => d.name),
    ['logs', 'shop', 'zeta'],
  );
  const dup = await cp.http.post(`/instances/${id}/databases`, { databases: [{ name: 'shop' }] });
  t.is(dup.status, 400);
  t.regex(dup.data.badRequest.message, /already exists/);
  for (const name of ['postgres', 'template1']) {
    const r = await cp.http.post(`/instances/${id}/databases`, { databases: [{ name }] });
    t.is(r.status, 400, `${name}: ${JSON.stringify(r.data)}`);
    t.truthy(r.data.badRequest?.message);
  }
  for (const name of ['postgres', 'os_admin', 'pg_monitor']) {
    const r = await cp.http.post(`/instances/${id}/users`, { users: [{ name, password: 'Pw-123456' }] });
    t.is(r.status, 400, `${name}: ${JSON.stringify(r.data)}`);
  }
  t.is((await cp.http.delete(`/instances/${id}/databases/zeta`)).status, 202);
  t.is((await cp.http.delete(`/instances/${id}/databases/zeta`)).status, 404);

  const u = await cp.http.post(`/instances/${id}/users`, { users: [{ name: 'bob', password: 'Bob-pass-1', databases: [{ name: 'logs' }] }] });
  t.is(u.status, 202, JSON.stringify(u.data));
  t.true(await pgCan('bob', 'Bob-pass-1', 'logs'));
  t.false(await pgCan('bob', 'Bob-pass-1', 'shop'), 'no grant, no connection');
  const list = await cp.http.get(`/instances/${id}/users`);
  t.deepEqual(list.data.users, [
    { name: 'app', host: '%', databases: [{ name: 'shop' }] },
    { name: 'bob', host: '%', databases: [{ name: 'logs' }] },
  ]);
  t.deepEqual((await cp.http.get(`/instances/${id}/users/bob`)).data.user, { name: 'bob', host: '%', databases: [{ name: 'logs' }] });
  t.is((await cp.http.get(`/instances/${id}/users/ghost`)).status, 404);

  t.is((await cp.http.put(`/instances/${id}/users/bob/databases`, { databases: [{ name: 'shop' }] })).status, 202);
  t.deepEqual((await cp.http.get(`/instances/${id}/users/bob/databases`)).data.databases, [{ name: 'logs' }, { name: 'shop' }]);
  t.true(await pgCan('bob', 'Bob-pass-1', 'shop'));
  t.is((await cp.http.delete(`/instances/${id}/users/bob/databases/logs`)).status, 202);
  t.false(await pgCan('bob', 'Bob-pass-1', 'logs'));

  t.is((await cp.http.put(`/instances/${id}/users`, { users: [{ name: 'bob', password: 'Bob-pass-2' }] })).status, 202);
  t.false(await pgCan('bob', 'Bob-pass-1', 'shop'));
  t.true(await pgCan('bob', 'Bob-pass-2', 'shop'));
  t.is((await cp.http.delete(`/instances/${id}/users/bob`)).status, 202);
  t.false(await pgCan('bob', 'Bob-pass-2', 'shop'));
  t.deepEqual(
    (await cp.http.get(`/instances/${id}/users`)).data.users.map((x: { name: string }) => x.name),
    ['app'],
  );
});

test.serial('postgresql: root enable gives `root` (not a superuser) that a client connects as; show and disable consistent', async (t) => {
  const id = inst.postgresql.id;
  t.deepEqual((await cp.http.get(`/instances/${id}/root`)).data, { rootEnabled: false });
  const en = await cp.http.post(`/instances/${id}/root`, {});
  t.is(en.status, 200, JSON.stringify(en.data));
  t.is(en.data.user.name, 'root');
  t.deepEqual(await pgQuery('root', en.data.user.password, 'postgres', 'SELECT current_user AS u, rolsuper FROM pg_roles WHERE rolname = current_user'), [
    { u: 'root', rolsuper: false },
  ]);
  t.deepEqual(await pgQuery('root', en.data.user.password, 'shop', 'SELECT v FROM t WHERE id = 1'), [{ v: 'hello' }]);
  t.deepEqual(await pgQuery('root', en.data.user.password, 'shop', 'SELECT has_database_privilege(current_user, current_database(), $$CREATE$$) AS c'), [
    { c: true },
  ]);
  await t.throwsAsync(pgQuery('root', en.data.user.password, 'postgres', "COPY (SELECT 1) TO PROGRAM 'id'"), {
    message: /superuser|pg_execute_server_program/,
  });
  t.deepEqual((await cp.http.get(`/instances/${id}/root`)).data, { rootEnabled: true });
  t.is((await cp.http.delete(`/instances/${id}/root`)).status, 204);
  t.false(await pgCan('root', en.data.user.password, 'postgres'));
  t.false(
    cp.logs.some((l) => l.includes(en.data.user.password) || l.includes(APP_PW)),
    'no password in the logs',
  );
});

test.serial("postgresql: a configuration group's dynamic value is live (SHOW); bad values 422", async (t) => {
  const id = inst.postgresql.id;
  const bad = await cp.http.post('/configurations', {
    configuration: { name: 'bad', values: { work_mem: 'lots' }, datastore: { type: 'postgresql', version: pgVersion } },
  });
  t.is(bad.status, 422);
  t.truthy(bad.data.unprocessableEntity?.message);
  const group = await cp.http.post('/configurations', {
    configuration: { name: 'pg-tuned', values: { work_mem: 12288, statement_timeout: 45000 }, datastore: { type: 'postgresql', version: pgVersion } },
  });
  t.is(group.status, 200, JSON.stringify(group.data));
  const attach = await cp.http.put(`/instances/${id}`, { instance: { configuration: group.data.configuration.id } });
  t.is(attach.status, 202, JSON.stringify(attach.data));
  const after = await waitForInstance(cp.http, id, (i) => ready(i) || i?.status === 'RESTART_REQUIRED', 60_000);
  t.is(after?.status, 'ACTIVE', 'dynamic values only: no restart needed');
  const show = async (name: string) => (await pgQuery<Record<string, string>>('app', APP_PW, 'shop', `SHOW ${name}`))[0]![name];
  t.is(await show('work_mem'), '12MB');
  t.is(await show('statement_timeout'), '45s');
  // a changed value reaches the engine live too
  t.is((await cp.http.patch(`/configurations/${group.data.configuration.id}`, { configuration: { values: { work_mem: 16384 } } })).status, 200);
  await waitForInstance(cp.http, id, ready, 60_000);
  let live = '';
  for (let i = 0; i < 40 && live !== '16MB'; i++, await new Promise((r) => setTimeout(r, 250))) live = (await show('work_mem')) ?? '';
  t.is(live, '16MB');

  const def = await cp.http.get(`/instances/${id}/configuration`);
  t.is(def.status, 200);
  const cfg = def.data.instance.configuration as Record<string, unknown>;
  t.is(cfg.work_mem, 16384, 'the group value');
  t.is(cfg.shared_buffers, '128MB', "the engine's own memory setting for the 512 MB flavor");
  t.is(cfg.max_connections, 64);
});

// ---- Redis

const redisWith = <T>(password: string | undefined, fn: (r: Redis) => Promise<T>): Promise<T> => withRedis({ host: inst.redis.ip, port: 6379, password }, fn);

let redisPassword = '';

test.serial('redis: root enable returns a password that AUTHs; SET/GET works', async (t) => {
  const id = inst.redis.id;
  t.regex(inst.redis.ip, /^127\.0\.\d+\.\d+$/);
  t.not(inst.redis.ip, inst.postgresql.ip);
  await t.throwsAsync(
    redisWith(undefined, (r) => r.set('k', 'v')),
    undefined,
    'closed until root is enabled',
  );
  t.deepEqual((await cp.http.get(`/instances/${id}/root`)).data, { rootEnabled: false });
  const en = await cp.http.post(`/instances/${id}/root`, {});
  t.is(en.status, 200, JSON.stringify(en.data));
  redisPassword = en.data.user.password;
  t.true(redisPassword.length >= 16);
  t.is(await redisWith(redisPassword, async (r) => (await r.set('greeting', 'hello'), r.get('greeting'))), 'hello');
  t.deepEqual((await cp.http.get(`/instances/${id}/root`)).data, { rootEnabled: true });
  // root through the API reaches nothing past its instance (the guest's ACL rules): NOPERM
  for (const cmd of [
    ['CONFIG', 'SET', 'dir', '/tmp'],
    ['CONFIG', 'SET', 'dbfilename', 'x.rdb'],
    ['MODULE', 'LIST'],
    ['REPLICAOF', '127.0.0.1', '1'],
    ['MIGRATE', '169.254.169.254', '80', 'greeting', '0', '1000'],
    ['SHUTDOWN', 'NOSAVE'],
    ['ACL', 'SETUSER', 'default', '+@all'],
  ]) {
    await t.throwsAsync(
      redisWith(redisPassword, (r) => r.call(cmd[0]!, ...cmd.slice(1))),
      { message: /^NOPERM this user has no permissions/ },
      cmd.join(' '),
    );
  }
  t.is(await redisWith(redisPassword, (r) => r.get('greeting')), 'hello', 'the server is still up');
  t.false(
    cp.logs.some((l) => l.includes(redisPassword)),
    'no password in the logs',
  );
});

test.serial("redis: database and user calls answer 501 with Trove's notImplemented body", async (t) => {
  const id = inst.redis.id;
  const calls = [
    () => cp.http.get(`/instances/${id}/databases`),
    () => cp.http.post(`/instances/${id}/databases`, { databases: [{ name: 'shop' }] }),
    () => cp.http.delete(`/instances/${id}/databases/shop`),
    () => cp.http.get(`/instances/${id}/users`),
    () => cp.http.post(`/instances/${id}/users`, { users: [{ name: 'app', password: 'Pw-123456' }] }),
    () => cp.http.get(`/instances/${id}/users/app`),
    () => cp.http.delete(`/instances/${id}/users/app`),
    () => cp.http.put(`/instances/${id}/users`, { users: [{ name: 'app', password: 'Pw-123456' }] }),
    () => cp.http.get(`/instances/${id}/users/app/databases`),
  ];
  for (const call of calls) {
    const r = await call();
    t.is(r.status, 501, JSON.stringify(r.data));
    t.deepEqual(Object.keys(r.data), ['notImplemented']);
    t.is(r.data.notImplemented.code, 501);
    t.regex(r.data.notImplemented.message, /not supported for the 'redis' datastore/);
  }
});

test.serial('redis: a configuration group value is live (CONFIG GET); configuration default shows redis.conf', async (t) => {
  const id = inst.redis.id;
  const group = await cp.http.post('/configurations', {
    configuration: { name: 'redis-lru', values: { 'maxmemory-policy': 'allkeys-lru', timeout: 300 }, datastore: { type: 'redis' } },
  });
  t.is(group.status, 200, JSON.stringify(group.data));
  t.is((await cp.http.put(`/instances/${id}`, { instance: { configuration: group.data.configuration.id } })).status, 202);
  const after = await waitForInstance(cp.http, id, (i) => ready(i) || i?.status === 'RESTART_REQUIRED', 60_000);
  t.is(after?.status, 'ACTIVE');
  const get = (key: string) => redisWith(redisPassword, async (r) => ((await r.call('CONFIG', 'GET', key)) as string[])[1]);
  t.is(await get('maxmemory-policy'), 'allkeys-lru');
  t.is(await get('timeout'), '300');

  const def = await cp.http.get(`/instances/${id}/configuration`);
  t.is(def.status, 200);
  const cfg = def.data.instance.configuration as Record<string, unknown>;
  t.is(cfg['maxmemory-policy'], 'allkeys-lru');
  t.is(cfg.timeout, 300);
  t.is(cfg.maxmemory, '384mb', 'three quarters of the 512 MB flavor');
  t.is(cfg.appendonly, 'yes');
  const adminSecret = readFileSync(path.join(cp.stateDir, 'servers', id, 'agent', 'os_admin.secret'), 'utf8').trim();
  for (const [k, v] of Object.entries(cfg)) {
    t.false(/pass/i.test(k), `no password setting shown: ${k}`);
    t.false(String(v).includes(redisPassword) || String(v).includes(adminSecret), `no secret in ${k}`);
  }
});

// PostgreSQL and Redis backups end to end on real parts: one instance of each through trove-api →
// RabbitMQ → trove-taskmanager → local compute (a guest agent process) → a real postgres /
// redis-server; data written with real clients; a backup of each through the API (pg_basebackup,
// RDB) into the all-in-one object store; a new instance of each restored from it with
// restorePoint; the data read back with real clients.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { loadConfigParameters, type ParameterRule } from '../../src/db/datastores.js';
import { detectPostgresql } from '../../guestagent/engines/postgresql/detect.js';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { withRedis } from '../helpers/redis-client.js';

type Engine = 'postgresql' | 'redis';
let cp: ControlPlane;
const ENGINES: Engine[] = ['postgresql', 'redis'];
const source: Record<Engine, { id: string; ip: string }> = { postgresql: { id: '', ip: '' }, redis: { id: '', ip: '' } };
const backups: Record<Engine, string> = { postgresql: '', redis: '' };
const APP_PW = 'Pg-Backup-App-41';
let redisPw = '';

const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';

async function register(name: string, version: string, manager: string): Promise<void> {
  const ds = randomUUID();
  const v = randomUUID();
  await cp.tdb.db('datastores').insert({ id: ds, name, default_version_id: v });
  await cp.tdb.db('datastore_versions').insert({ id: v, datastore_id: ds, name: version, version, manager, image_id: 'local', packages: '', active: true });
  const rules = JSON.parse(readFileSync(`etc/datastores/${manager}/validation-rules.json`, 'utf8'))['configuration-parameters'] as ParameterRule[];
  await loadConfigParameters(cp.tdb.db, v, rules);
}

async function pgQuery<T extends pg.QueryResultRow>(ip: string, sql: string, params: unknown[] = [], database = 'shop'): Promise<T[]> {
  const c = new pg.Client({ host: ip, port: 5432, user: 'app', password: APP_PW, database, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const redisWith = <T>(ip: string, password: string, fn: (r: Redis) => Promise<T>): Promise<T> => withRedis({ host: ip, port: 6379, password }, fn);

const PG_SUMMARY = "SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY id)) AS sum FROM t";
const redisData = (ip: string, pw: string) =>
  redisWith(ip, pw, async (r) => ({
    greeting: await r.get('greeting'),
    user: await r.hgetall('user:1'),
    queue: await r.lrange('queue', 0, -1),
    n: (await r.keys('k:*')).length,
  }));

async function waitBackup(id: string, ms = 180_000): Promise<Record<string, any>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const b = (await cp.http.get(`/backups/${id}`)).data.backup;
    if (b.status === 'COMPLETED' || b.status === 'FAILED') return b;
    if (Date.now() > deadline) throw new Error(`backup ${id} still ${b.status}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test.before(async () => {
  const detected = await detectPostgresql();
  if (!detected) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/<version>/bin)');
  cp = await startControlPlane({ guestConfig: '[DEFAULT]\nlog_level = info\nbackup_segment_max_size = 1048576\n' });
  await register('postgresql', detected.name, 'postgresql');
  await register('redis', '7.0', 'redis');
  const created = await Promise.all(
    ENGINES.map((type) =>
      cp.http.post('/instances', {
        instance: {
          name: `bk-${type}`,
          flavorRef: '1',
          volume: { size: 1 },
          datastore: { type },
          ...(type === 'postgresql' ? { databases: [{ name: 'shop' }], users: [{ name: 'app', password: APP_PW, databases: [{ name: 'shop' }] }] } : {}),
        },
      }),
    ),
  );
  for (const [i, type] of ENGINES.entries()) {
    if (created[i]!.status !== 200) throw new Error(`create ${type}: ${JSON.stringify(created[i]!.data)}`);
    source[type].id = created[i]!.data.instance.id;
  }
  for (const type of ENGINES) {
    const active = await waitForInstance(cp.http, source[type].id, ready);
    if (active?.status !== 'ACTIVE') throw new Error(`${type} did not become ACTIVE: ${JSON.stringify(active)}`);
    source[type].ip = (active.ip as string[])[0]!;
  }
  await pgQuery(source.postgresql.ip, 'CREATE TABLE t (id INT PRIMARY KEY, v TEXT, n NUMERIC)');
  await pgQuery(source.postgresql.ip, "INSERT INTO t SELECT i, 'row ' || i || repeat(' x', i % 40), i * 1.5 FROM generate_series(1, 30000) i");
  redisPw = (await cp.http.post(`/instances/${source.redis.id}/root`, {})).data.user.password;
  await redisWith(source.redis.ip, redisPw, async (r) => {
    await r.set('greeting', 'hello from the backup');
    await r.hset('user:1', { name: 'Ada', visits: '42' });
    await r.rpush('queue', 'a', 'b', 'c');
    const p = r.pipeline();
    for (let i = 0; i < 2000; i++) p.set(`k:${i}`, `v${i}`);
    await p.exec();
  });
});

test.after.always(async () => {
  await cp?.stop();
});

let expectedPg: Record<string, unknown>;
let expectedRedis: Record<string, unknown>;

test.serial('a backup of each: COMPLETED with a location, checksum and size; the instances stay ACTIVE', async (t) => {
  expectedPg = (await pgQuery(source.postgresql.ip, PG_SUMMARY))[0]!;
  expectedRedis = await redisData(source.redis.ip, redisPw);
  t.is(expectedPg.n, 30000);
  t.is(expectedRedis.n, 2000);
  for (const type of ENGINES) {
    const r = await cp.http.post('/backups', { backup: { name: `${type}-nightly`, instance: source[type].id } });
    t.is(r.status, 202, JSON.stringify(r.data));
    backups[type] = r.data.backup.id;
  }
  for (const type of ENGINES) {
    const done = await waitBackup(backups[type]);
    t.is(done.status, 'COMPLETED', `${type}: ${JSON.stringify(done)}`);
    t.true(done.size > 0);
    t.truthy(done.locationRef);
    const row = await cp.tdb.db('backups').where({ id: backups[type] }).first();
    t.regex(row.checksum, /^[0-9a-f]{64}$/);
    t.regex(row.location, type === 'postgresql' ? /\.pg-tar\./ : /\.redis-rdb\./);
    t.is((await cp.http.get(`/instances/${source[type].id}`)).data.instance.status, 'ACTIVE');
  }
  // the sources change after the backups
  await pgQuery(source.postgresql.ip, 'DELETE FROM t WHERE id <= 100');
  await redisWith(source.redis.ip, redisPw, (r) => r.del('greeting'));
});

test.serial('restorePoint: a new instance of each has the data as it was at the backup', async (t) => {
  const created: Record<Engine, string> = { postgresql: '', redis: '' };
  for (const type of ENGINES) {
    const r = await cp.http.post('/instances', {
      instance: { name: `bk-${type}-restored`, flavorRef: '1', volume: { size: 1 }, restorePoint: { backupRef: backups[type] } },
    });
    t.is(r.status, 200, JSON.stringify(r.data));
    created[type] = r.data.instance.id;
  }
  const ip: Record<Engine, string> = { postgresql: '', redis: '' };
  for (const type of ENGINES) {
    const active = await waitForInstance(cp.http, created[type], ready);
    t.is(active?.status, 'ACTIVE', `${type}: ${JSON.stringify(active)}`);
    ip[type] = (active!.ip as string[])[0]!;
    t.not(ip[type], source[type].ip);
    t.is((await cp.http.get(`/instances/${created[type]}`)).data.instance.datastore.type, type);
  }
  // PostgreSQL: the backup's users and rows; the new instance is managed like any other
  t.deepEqual((await pgQuery(ip.postgresql, PG_SUMMARY))[0], expectedPg);
  const pgId = created.postgresql;
  t.deepEqual(
    (await cp.http.get(`/instances/${pgId}/databases`)).data.databases.map((d: { name: string }) => d.name),
    ['shop'],
  );
  t.is((await cp.http.post(`/instances/${pgId}/databases`, { databases: [{ name: 'extra' }] })).status, 202);
  t.deepEqual(
    (await cp.http.get(`/instances/${pgId}/databases`)).data.databases.map((d: { name: string }) => d.name),
    ['extra', 'shop'],
  );
  // Redis: the new instance's own ACL (root off until enabled on it), then the backup's keys
  await t.throwsAsync(
    redisWith(ip.redis, redisPw, (r) => r.ping()),
    undefined,
    "the source's root password is not the new instance's",
  );
  const newPw = (await cp.http.post(`/instances/${created.redis}/root`, {})).data.user.password as string;
  t.deepEqual(await redisData(ip.redis, newPw), expectedRedis);
  t.false(
    cp.logs.some((l) => l.includes(APP_PW) || l.includes(redisPw) || l.includes(newPw)),
    'no password in the logs',
  );
});

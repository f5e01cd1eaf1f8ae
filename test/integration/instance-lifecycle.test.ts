// The whole path on real parts: trove-api → RabbitMQ → trove-taskmanager → local compute (a guest
// agent process) → a real mariadbd; heartbeats through trove-conductor into MariaDB. Create → ACTIVE
// → connect with the mysql client → restart → resize volume → delete, nothing left behind.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { randomUUID } from 'node:crypto';

let cp: ControlPlane;
const V = randomUUID();

test.before(async () => {
  cp = await startControlPlane();
  const ds = randomUUID();
  await cp.tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: V });
  await cp.tdb
    .db('datastore_versions')
    .insert({ id: V, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', image_id: 'local', packages: '', active: true });
});

test.after.always(async () => {
  await cp?.stop();
});

const PASSWORD = 'App-Secret-pw-42';

test.serial('create → ACTIVE → mysql client → restart → resize volume → delete', async (t) => {
  const create = await cp.http.post('/instances', {
    instance: {
      name: 'e2e',
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb', version: '10.11' },
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'shop' }] }],
    },
  });
  t.is(create.status, 200, JSON.stringify(create.data));
  const id = create.data.instance.id as string;
  t.is(create.data.instance.status, 'BUILD');

  const active = await waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  t.is(active?.status, 'ACTIVE', JSON.stringify(active));
  const ip = (active!.ip as string[])[0]!;
  t.regex(ip, /^127\.0\.\d+\.\d+$/);

  // the real mysql client, as a user would
  const out = execFileSync('mariadb', [
    '-h',
    ip,
    '-u',
    'app',
    `-p${PASSWORD}`,
    'shop',
    '-N',
    '-e',
    'CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, "hello"); SELECT v FROM t;',
  ]).toString();
  t.is(out.trim(), 'hello');

  const restart = await cp.http.post(`/instances/${id}/action`, { restart: {} });
  t.is(restart.status, 202);
  const back = await waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR', 120_000);
  t.is(back?.status, 'ACTIVE');
  const c = await mysql.createConnection({ host: ip, user: 'app', password: PASSWORD, database: 'shop' });
  const [rows] = await c.query('SELECT v FROM t WHERE id = 1');
  t.deepEqual(rows, [{ v: 'hello' }]);
  await c.end();

  const resize = await cp.http.post(`/instances/${id}/action`, { resize: { volume: { size: 2 } } });
  t.is(resize.status, 202);
  const resized = await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && (i?.volume as { size: number }).size === 2, 60_000);
  t.is((resized!.volume as { size: number }).size, 2);
  t.is(typeof (resized!.volume as { used?: number }).used, 'number', 'volume usage reported by the guest');

  const del = await cp.http.delete(`/instances/${id}`);
  t.is(del.status, 202);
  await waitForInstance(cp.http, id, (_i, status) => status === 404, 120_000);
  const servers = path.join(cp.stateDir, 'servers');
  t.false(existsSync(path.join(servers, id)), 'the server directory is gone');
  t.deepEqual(existsSync(path.join(cp.stateDir, 'volumes')) ? readdirSync(path.join(cp.stateDir, 'volumes')) : [], [], 'the volume is gone');
  await t.throwsAsync(mysql.createConnection({ host: ip, user: 'app', password: PASSWORD, connectTimeout: 2000 }));
  const q = await cp.http.get('/mgmt/quotas/p-local');
  t.deepEqual(
    q.data.quotas.map((x: { in_use: number }) => x.in_use),
    [0, 0, 0, 0],
  );
  t.false(cp.logs.join('').includes(PASSWORD), 'the password never reached a log line');
});

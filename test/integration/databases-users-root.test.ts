// Databases, users, access and root through the API, done by the guest agent on a real mariadbd:
// every answer is checked against the engine itself, and injection through every name field is
// refused or harmless (the engine is unchanged).
import test from 'ava';
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';

let cp: ControlPlane;
let id: string;
let ip: string;

test.before(async () => {
  cp = await startControlPlane();
  await registerDatastore(cp.tdb.db);
  const r = await cp.http.post('/instances', { instance: { name: 'admin-ops', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } } });
  id = r.data.instance.id;
  const active = await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY');
  ip = (active!.ip as string[])[0]!;
});
test.after.always(() => cp?.stop());

const connect = (user: string, password: string, database?: string) => mysql.createConnection({ host: ip, user, password, database });
async function canLogin(user: string, password: string, database?: string): Promise<boolean> {
  try {
    const c = await connect(user, password, database);
    await c.end();
    return true;
  } catch {
    return false;
  }
}
/** What the engine holds, as the guest lists it. */
async function engineState(): Promise<{ dbs: string[]; users: string[] }> {
  const dbs = (await cp.http.get(`/instances/${id}/databases`)).data.databases.map((d: { name: string }) => d.name);
  const users = (await cp.http.get(`/instances/${id}/users`)).data.users.map((u: { name: string; host: string }) => `${u.name}@${u.host}`);
  return { dbs, users };
}

test.serial('databases: create, list (paged, system ones hidden), duplicate 400, delete, missing 404', async (t) => {
  const created = await cp.http.post(`/instances/${id}/databases`, {
    databases: [{ name: 'shop' }, { name: 'logs', character_set: 'latin1', collate: 'latin1_swedish_ci' }, { name: 'zeta' }],
  });
  t.is(created.status, 202, JSON.stringify(created.data));
  const all = await cp.http.get(`/instances/${id}/databases`);
  t.deepEqual(
    all.data.databases.map((d: { name: string }) => d.name),
    ['logs', 'shop', 'zeta'],
  );
  const page = await cp.http.get(`/instances/${id}/databases?limit=2`);
  t.deepEqual(
    page.data.databases.map((d: { name: string }) => d.name),
    ['logs', 'shop'],
  );
  t.regex(page.data.links[0].href, /marker=shop/);
  const rest = await cp.http.get(`/instances/${id}/databases?limit=2&marker=shop`);
  t.deepEqual(
    rest.data.databases.map((d: { name: string }) => d.name),
    ['zeta'],
  );
  t.is(rest.data.links, undefined);

  const dup = await cp.http.post(`/instances/${id}/databases`, { databases: [{ name: 'shop' }] });
  t.is(dup.status, 400);
  t.regex(dup.data.badRequest.message, /already exists/);
  t.is((await cp.http.get(`/instances/${id}/databases/shop`)).status, 501);

  t.is((await cp.http.delete(`/instances/${id}/databases/zeta`)).status, 202);
  const missing = await cp.http.delete(`/instances/${id}/databases/zeta`);
  t.is(missing.status, 404);
  t.truthy(missing.data.itemNotFound);
  t.deepEqual((await engineState()).dbs, ['logs', 'shop']);
});

test.serial('bad names: reserved, too long, wrong types → 400 with Trove bodies; nothing reaches the engine', async (t) => {
  const before = await engineState();
  for (const name of ['mysql', 'information_schema', 'performance_schema', 'x'.repeat(65)]) {
    const r = await cp.http.post(`/instances/${id}/databases`, { databases: [{ name }] });
    t.is(r.status, 400, `${name}: ${JSON.stringify(r.data)}`);
    t.truthy(r.data.badRequest?.message);
  }
  for (const name of ['root', 'os_admin', 'u'.repeat(81)]) {
    const r = await cp.http.post(`/instances/${id}/users`, { users: [{ name, password: 'Pw-123456' }] });
    t.is(r.status, 400, `${name}: ${JSON.stringify(r.data)}`);
  }
  const wrongType = await cp.http.post(`/instances/${id}/databases`, { databases: [{ name: 5 }] });
  t.is(wrongType.status, 400);
  t.regex(wrongType.data.badRequest.message, /Validation error/);
  t.is((await cp.http.post(`/instances/${id}/users`, { users: [] })).status, 400);
  t.is((await cp.http.put(`/instances/${id}/users/nobody`, { user: {} })).status, 400);
  t.deepEqual(await engineState(), before);
});

test.serial('injection through every name field is refused or stored literally; the engine is unchanged', async (t) => {
  const before = await engineState();
  const evilDb = ['shop`; DROP DATABASE shop; --', "x'; DROP DATABASE shop; --", 'a/b', 'shop.x'];
  for (const name of evilDb) {
    t.is((await cp.http.post(`/instances/${id}/databases`, { databases: [{ name }] })).status, 400, name);
    t.is((await cp.http.delete(`/instances/${id}/databases/${encodeURIComponent(name)}`)).status, 400, name);
  }
  t.is((await cp.http.post(`/instances/${id}/databases`, { databases: [{ name: 'okdb', character_set: 'utf8mb4; DROP DATABASE shop' }] })).status, 400);
  const evilUser = ["a'@'%' IDENTIFIED BY 'x'; --", 'b`c', 'd"e'];
  for (const name of evilUser) {
    t.is((await cp.http.post(`/instances/${id}/users`, { users: [{ name, password: 'Pw-123456' }] })).status, 400, name);
  }
  const evilHost = await cp.http.post(`/instances/${id}/users`, { users: [{ name: 'hosty', password: 'Pw-123456', host: "%' OR '1'='1" }] });
  t.is(evilHost.status, 400);
  const evilGrant = await cp.http.post(`/instances/${id}/users`, {
    users: [{ name: 'granty', password: 'Pw-123456', databases: [{ name: 'shop`.* TO x; --' }] }],
  });
  t.is(evilGrant.status, 400);
  t.deepEqual(await engineState(), before);

  // a password is a value: any text is bound as it is and logs in as it is
  const pw = "p'; DROP USER 'quoted'@'%'; --\"`";
  t.is((await cp.http.post(`/instances/${id}/users`, { users: [{ name: 'quoted', password: pw, databases: [{ name: 'shop' }] }] })).status, 202);
  t.true(await canLogin('quoted', pw, 'shop'));
  t.is((await cp.http.delete(`/instances/${id}/users/quoted`)).status, 202);
  t.deepEqual(await engineState(), before);
});

test.serial('users: create with grants, list, show, access grant/revoke, password, rename, delete', async (t) => {
  const c = await cp.http.post(`/instances/${id}/users`, {
    users: [
      { name: 'app', password: 'App-pass-1', databases: [{ name: 'shop' }] },
      { name: 'ro', password: 'Ro-pass-1', host: '127.0.0.1' },
    ],
  });
  t.is(c.status, 202, JSON.stringify(c.data));
  t.true(await canLogin('app', 'App-pass-1', 'shop'));
  const list = await cp.http.get(`/instances/${id}/users`);
  t.deepEqual(list.data.users, [
    { name: 'app', host: '%', databases: [{ name: 'shop' }] },
    { name: 'ro', host: '127.0.0.1', databases: [] },
  ]);
  const dup = await cp.http.post(`/instances/${id}/users`, { users: [{ name: 'app', password: 'x-Y-123456' }] });
  t.is(dup.status, 400);
  const noDb = await cp.http.post(`/instances/${id}/users`, { users: [{ name: 'other', password: 'x-Y-123456', databases: [{ name: 'nope' }] }] });
  t.is(noDb.status, 404);

  const show = await cp.http.get(`/instances/${id}/users/app`);
  t.deepEqual(show.data.user, { name: 'app', host: '%', databases: [{ name: 'shop' }] });
  t.is((await cp.http.get(`/instances/${id}/users/ro@127.0.0.1`)).data.user.host, '127.0.0.1');
  t.is((await cp.http.get(`/instances/${id}/users/ghost`)).status, 404);

  t.is((await cp.http.put(`/instances/${id}/users/app/databases`, { databases: [{ name: 'logs' }] })).status, 202);
  t.deepEqual((await cp.http.get(`/instances/${id}/users/app/databases`)).data.databases, [{ name: 'logs' }, { name: 'shop' }]);
  t.true(await canLogin('app', 'App-pass-1', 'logs'));
  t.is((await cp.http.delete(`/instances/${id}/users/app/databases/logs`)).status, 202);
  t.is((await cp.http.delete(`/instances/${id}/users/app/databases/logs`)).status, 404);
  t.false(await canLogin('app', 'App-pass-1', 'logs'));

  t.is((await cp.http.put(`/instances/${id}/users`, { users: [{ name: 'app', password: 'New-pass-2' }] })).status, 202);
  t.false(await canLogin('app', 'App-pass-1'));
  t.true(await canLogin('app', 'New-pass-2', 'shop'));
  t.is((await cp.http.put(`/instances/${id}/users`, { users: [{ name: 'ghost', password: 'New-pass-2' }] })).status, 404);

  t.is((await cp.http.put(`/instances/${id}/users/app`, { user: { name: 'app2', password: 'Third-pass-3' } })).status, 202);
  t.is((await cp.http.get(`/instances/${id}/users/app`)).status, 404);
  t.deepEqual((await cp.http.get(`/instances/${id}/users/app2`)).data.user.databases, [{ name: 'shop' }]);
  t.true(await canLogin('app2', 'Third-pass-3', 'shop'));

  t.is((await cp.http.delete(`/instances/${id}/users/app2`)).status, 202);
  t.is((await cp.http.delete(`/instances/${id}/users/ro@127.0.0.1`)).status, 202);
  t.is((await cp.http.delete(`/instances/${id}/users/app2`)).status, 404);
  t.false(await canLogin('app2', 'Third-pass-3'));
  t.deepEqual((await cp.http.get(`/instances/${id}/users`)).data.users, []);
});

test.serial('root: show false, enable returns a password that logs in, show true, disable', async (t) => {
  t.deepEqual((await cp.http.get(`/instances/${id}/root`)).data, { rootEnabled: false });
  t.is((await cp.http.delete(`/instances/${id}/root`)).status, 404);
  const en = await cp.http.post(`/instances/${id}/root`, {});
  t.is(en.status, 200);
  t.is(en.data.user.name, 'root');
  t.true(String(en.data.user.password).length >= 16);
  t.true(await canLogin('root', en.data.user.password));
  t.deepEqual((await cp.http.get(`/instances/${id}/root`)).data, { rootEnabled: true });
  const chosen = await cp.http.post(`/instances/${id}/root`, { password: 'Chosen-root-9' });
  t.is(chosen.data.user.password, 'Chosen-root-9');
  t.true(await canLogin('root', 'Chosen-root-9'));
  t.false(
    cp.logs.some((l) => l.includes('Chosen-root-9') || l.includes(en.data.user.password)),
    'no password in the logs',
  );
  const dis = await cp.http.delete(`/instances/${id}/root`);
  t.is(dis.status, 204);
  t.false(await canLogin('root', 'Chosen-root-9'));
  t.deepEqual((await cp.http.get(`/instances/${id}/root`)).data, { rootEnabled: true }, 'Trove shows whether root was ever enabled');
});

test.serial('the guest talks encrypted: its config carries the instance key the control plane stores encrypted', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const conf = execFileSync('grep', ['-rh', 'instance_rpc_encr_key', cp.stateDir]).toString().trim();
  const row = await cp.tdb.db('instances').where({ id }).first('encrypted_key');
  const { secureRpc } = await import('../../src/rpc/secure.js');
  const key = secureRpc(cp.raw).instanceKey(row.encrypted_key);
  t.truthy(key);
  t.is(conf, `instance_rpc_encr_key = ${key}`);
});

test.serial('operations while the instance is not ready → 422; unknown instance → 404', async (t) => {
  await cp.tdb.db('instances').where({ id }).update({ task_id: 0x05 });
  const r = await cp.http.get(`/instances/${id}/databases`);
  await cp.tdb.db('instances').where({ id }).update({ task_id: 0x01 });
  t.is(r.status, 422);
  t.regex(r.data.unprocessableEntity.message, /is not ready/);
  t.is((await cp.http.get(`/instances/${randomUUID()}/users`)).status, 404);
});

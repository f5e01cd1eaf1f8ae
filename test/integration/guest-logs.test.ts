// Guest logs through the API with the real control plane: a MariaDB instance's guest agent turns
// the general log on, a user's query lands in it, `publish` stores it in the all-in-one object
// store (read back here from the directory, as Swift would serve it), show/list report Trove's
// statuses and byte counts, discard removes the objects; Trove's refusals on the wire.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { ObjectDirectory } from '../../src/common/object-directory.js';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';

let cp: ControlPlane;
let id: string;
let ip: string;

test.before(async () => {
  cp = await startControlPlane();
  await registerDatastore(cp.tdb.db);
  const r = await cp.http.post('/instances', {
    instance: {
      name: 'logs',
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb' },
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', password: 'App-Secret-1', databases: [{ name: 'shop' }] }],
    },
  });
  id = r.data.instance.id;
  const active = await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY');
  ip = (active!.ip as string[])[0]!;
});
test.after.always(() => cp?.stop());

const objects = () => new ObjectDirectory(path.join(cp.stateDir, 'objects'));
async function publishedText(prefix: string): Promise<string> {
  let text = '';
  for (const o of await objects().listObjects('database_logs', prefix))
    for await (const c of await objects().getObject('database_logs', o.name)) text += (c as Buffer).toString();
  return text;
}

test.serial('list: the engine’s logs with Trove’s LOG keys (an administrator sees the SYS error log too)', async (t) => {
  const r = await cp.http.get(`/instances/${id}/log`);
  t.is(r.status, 200, JSON.stringify(r.data));
  t.deepEqual(
    r.data.logs.map((l: { name: string; type: string; status: string }) => `${l.name}:${l.type}:${l.status}`),
    ['general:USER:Disabled', 'slow_query:USER:Disabled', 'error:SYS:Ready'],
  );
  t.deepEqual(Object.keys(r.data.logs[0]), ['name', 'type', 'status', 'published', 'pending', 'container', 'prefix', 'metafile']);
  t.like(r.data.logs[0], { published: 0, pending: 0, container: 'None', prefix: 'None', metafile: `${id}/mariadb-general_metafile` });
});

test.serial('general: enable (1 as the client sends it), a query, publish into the store, the object holds the query; show; discard', async (t) => {
  const en = await cp.http.post(`/instances/${id}/log`, { name: 'general', enable: 1 });
  t.is(en.status, 200, JSON.stringify(en.data));
  t.not(en.data.log.status, 'Disabled');
  const c = await mysql.createConnection({ host: ip, user: 'app', password: 'App-Secret-1', database: 'shop' });
  await c.query("SELECT 'integration-needle-31337' AS marker");
  await c.end();
  // a user created through the API: its password goes through the agent, which stays out of the general log
  t.is((await cp.http.post(`/instances/${id}/users`, { users: [{ name: 'other', password: 'Api-Planted-Pw-9' }] })).status, 202);

  const pub = await cp.http.post(`/instances/${id}/log`, { name: 'general', publish: 1 });
  t.is(pub.status, 200, JSON.stringify(pub.data));
  t.like(pub.data.log, { name: 'general', type: 'USER', status: 'Published', container: 'database_logs', prefix: `${id}/mariadb-general/` });
  t.true(pub.data.log.published > 0);
  const text = await publishedText(`${id}/mariadb-general/`);
  t.regex(text, /SELECT 'integration-needle-31337' AS marker/);
  t.notRegex(text, /Api-Planted-Pw-9/);
  const head = await objects().headObject('database_logs', `${id}/mariadb-general/log-00000001`);
  t.true(Number(head.metadata.lines) > 0);
  const meta = JSON.parse(
    await (async () => {
      let s = '';
      for await (const ch of await objects().getObject('database_logs', `${id}/mariadb-general_metafile`)) s += (ch as Buffer).toString();
      return s;
    })(),
  ) as Record<string, unknown>;
  t.like(meta, { log_name: 'general', log_type: 'USER', log_size: pub.data.log.published });

  const show = await cp.http.post(`/instances/${id}/log`, { name: 'general' });
  t.is(show.status, 200);
  t.is(show.data.log.published, pub.data.log.published);

  const dis = await cp.http.post(`/instances/${id}/log`, { name: 'general', disable: 1 });
  t.is(dis.data.log.status, 'Disabled');
  const gone = await cp.http.post(`/instances/${id}/log`, { name: 'general', discard: 1 });
  t.like(gone.data.log, { published: 0, container: 'None' });
  t.deepEqual(await objects().listObjects('database_logs', `${id}/mariadb-general`), []);
});

test.serial('refusals: unknown log 404, enable and disable 400, a SYS log cannot be enabled 400, no name 400, another project 404', async (t) => {
  const unknown = await cp.http.post(`/instances/${id}/log`, { name: 'audit' });
  t.is(unknown.status, 404);
  t.regex(unknown.data.itemNotFound.message, /Log 'audit' is not defined/);
  const both = await cp.http.post(`/instances/${id}/log`, { name: 'general', enable: 1, disable: 1 });
  t.is(both.status, 400);
  t.is(both.data.badRequest.message, 'Cannot enable and disable log.');
  const sys = await cp.http.post(`/instances/${id}/log`, { name: 'error', enable: 1 });
  t.is(sys.status, 400);
  t.regex(sys.data.badRequest.message, /Cannot enable a SYSTEM log/);
  t.is((await cp.http.post(`/instances/${id}/log`, {})).status, 400);
  t.is((await cp.http.get(`/instances/${randomUUID()}/log`)).status, 404);
});

test.serial('the error log (SYS) is published for an administrator', async (t) => {
  const r = await cp.http.post(`/instances/${id}/log`, { name: 'error', publish: 1 });
  t.is(r.status, 200, JSON.stringify(r.data));
  t.like(r.data.log, { type: 'SYS', status: 'Published' });
  t.regex(await publishedText(`${id}/mariadb-error/`), /ready for connections/);
});

test.serial('no secret in the services’ log lines', (t) => {
  const all = cp.logs.join('');
  t.false(all.includes('Api-Planted-Pw-9'));
  t.false(all.includes('App-Secret-1'));
});

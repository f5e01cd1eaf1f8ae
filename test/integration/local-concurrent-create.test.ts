// Instances created at the same moment on the local compute driver: each gets its own loopback
// address, every one becomes ACTIVE/HEALTHY and answers a real client on its own address (the
// colleague's "failed to spawn" when two were created together).
import test from 'ava';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';

let cp: ControlPlane;

test.before(async () => {
  cp = await startControlPlane();
  await registerDatastore(cp.tdb.db);
});
test.after.always(() => cp?.stop());

const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';

test('three instances created at once all become ACTIVE/HEALTHY, each on its own address, each connectable', async (t) => {
  const names = ['c1', 'c2', 'c3'];
  const created = await Promise.all(
    names.map((name) =>
      cp.http.post('/instances', {
        instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' }, users: [{ name: 'app', password: `Pw-${name}-123` }] },
      }),
    ),
  );
  for (const r of created) t.is(r.status, 200, JSON.stringify(r.data));
  const ids = created.map((r) => r.data.instance.id as string);
  const active = await Promise.all(ids.map((id) => waitForInstance(cp.http, id, ready)));
  for (const [i, a] of active.entries()) t.is(a?.status, 'ACTIVE', `${names[i]}: ${JSON.stringify(a?.fault ?? a)}`);
  const ips = active.map((a) => (a!.ip as string[])[0]!);
  t.is(new Set(ips).size, 3, `distinct addresses: ${ips.join(', ')}`);
  for (const [i, ip] of ips.entries()) {
    const c = await mysql.createConnection({ host: ip, user: 'app', password: `Pw-${names[i]}-123`, connectTimeout: 5000 });
    const [rows] = await c.query('SELECT CURRENT_USER() AS u');
    await c.end();
    t.deepEqual(rows, [{ u: 'app@%' }], `${names[i]} on ${ip}`);
  }
  // each address is its own instance's: deleting them frees the addresses for the next ones
  for (const id of ids) t.is((await cp.http.delete(`/instances/${id}`)).status, 202);
  await Promise.all(ids.map((id) => waitForInstance(cp.http, id, (_i, status) => status === 404, 120_000)));
});

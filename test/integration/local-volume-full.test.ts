// An all-in-one volume is enforced on the data directory: when the data outgrows the volume the
// engine refuses writes (read-only, as a full disk would), and a volume resize gives room again.
import test from 'ava';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';

test('a full local volume refuses writes until it is resized', async (t) => {
  // one "GB" of a local volume is 200 MB here, so the test fills it in seconds
  const cp = await startControlPlane({ config: { local: { volume_unit_mb: '200' } } });
  t.teardown(() => cp.stop());
  await registerDatastore(cp.tdb.db);
  const r = await cp.http.post('/instances', {
    instance: {
      name: 'small',
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb' },
      databases: [{ name: 'd' }],
      users: [{ name: 'u', password: 'Full-pw-1', databases: [{ name: 'd' }] }],
    },
  });
  const id = r.data.instance.id as string;
  const active = await waitForInstance(
    cp.http,
    id,
    (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY' && typeof (i?.volume as { used?: number }).used === 'number',
  );
  const ip = (active!.ip as string[])[0]!;
  const c = await mysql.createConnection({ host: ip, user: 'u', password: 'Full-pw-1', database: 'd' });
  t.teardown(() => c.end().catch(() => undefined));
  await c.query('CREATE TABLE blob_t (id INT AUTO_INCREMENT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB');
  let refused: Error | undefined;
  for (let i = 0; i < 400 && !refused; i++) {
    try {
      await c.query('INSERT INTO blob_t (b) VALUES (REPEAT(?, 1048576))', ['x']);
    } catch (err) {
      refused = err as Error;
    }
    if (i % 20 === 19) await new Promise((res) => setTimeout(res, 300));
  }
  t.truthy(refused, 'writes were refused once the volume was full');
  t.regex(refused!.message, /read-only|read_only/i);
  const full = await cp.http.get(`/instances/${id}`);
  t.true(full.data.instance.volume.used > 0.5, `volume.used ${full.data.instance.volume.used}`);

  t.is((await cp.http.post(`/instances/${id}/action`, { resize: { volume: { size: 3 } } })).status, 202);
  await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && (i?.volume as { size: number }).size === 3, 60_000);
  let allowed = false;
  for (let i = 0; i < 40 && !allowed; i++) {
    allowed = await c.query('INSERT INTO blob_t (b) VALUES (?)', ['small']).then(
      () => true,
      () => false,
    );
    if (!allowed) await new Promise((res) => setTimeout(res, 500));
  }
  t.true(allowed, 'writes are allowed again after the resize');
});

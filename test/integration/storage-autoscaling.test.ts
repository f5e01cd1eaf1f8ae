// Storage autoscaling on the all-in-one: a real MariaDB behind a real guest agent, its local
// volume a directory with a size limit (one "GB" is 200 MB here). The test fills the volume past
// the threshold and runs the taskmanager's autoscaling pass itself (its own timer is an hour
// away): the volume grows once, not again within the cool-down, by the increment but never past
// max_volume_size, and not past the project's volume quota; each growth and refusal is notified.
import test, { type ExecutionContext } from 'ava';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { autoscaleOnce } from '../../src/taskmanager/storage-autoscaler.js';

const PW = 'Grow-pw-1';

type Instance = Record<string, unknown> & { volume: { size: number; used?: number } };

async function fillUntil(cp: ControlPlane, c: mysql.Connection, id: string, usedAtLeast: number): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const inst = (await cp.http.get(`/instances/${id}`)).data.instance as Instance;
    if ((inst.volume.used ?? 0) >= usedAtLeast) return inst.volume.used!;
    await c.query('INSERT INTO blob_t (b) VALUES (REPEAT(?, 1048576))', ['x']).catch(() => new Promise((r) => setTimeout(r, 500)));
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the volume's reported use never reached ${usedAtLeast}`);
}

/** A control plane with autoscaling at 70 % by 100 % (its timer every `interval` seconds) and a MariaDB instance ACTIVE on it. */
async function instanceToGrow(t: ExecutionContext, name: string, interval: string): Promise<{ cp: ControlPlane; id: string; active: Record<string, unknown> }> {
  const cp = await startControlPlane({
    config: {
      DEFAULT: { autoscale_interval: interval, autoscale_volume_used_percent: '70', autoscale_increment_percent: '100', autoscale_cooldown: '3600' },
      local: { volume_unit_mb: '200' },
    },
  });
  t.teardown(() => cp.stop());
  await registerDatastore(cp.tdb.db);
  const r = await cp.http.post('/instances', {
    instance: {
      name,
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb' },
      databases: [{ name: 'd' }],
      users: [{ name: 'u', password: PW, databases: [{ name: 'd' }] }],
    },
  });
  t.is(r.status, 200, JSON.stringify(r.data));
  const id = r.data.instance.id as string;
  const active = await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && typeof (i?.volume as { used?: number }).used === 'number');
  return { cp, id, active: active! };
}

test('a volume past the threshold grows once per cool-down, by the increment, never past max_volume_size nor the quota', async (t) => {
  const { cp, id, active } = await instanceToGrow(t, 'grows', '3600');
  const ctx = cp.taskmanager!.ctx;
  const notified: Array<[string, Record<string, unknown>]> = [];
  const notifier = { notify: (e: string, p: Record<string, unknown>) => void notified.push([e, p]) };
  const size = async () => ((await cp.http.get(`/instances/${id}`)).data.instance as Instance).volume.size;

  // nothing to do before the instance has a max_volume_size, however full
  const put = await cp.http.put(`/ts/instances/${id}/alarms`, { alarms: { max_volume_size: 3 } });
  t.is(put.status, 200, JSON.stringify(put.data));
  const c = await mysql.createConnection({ host: (active!.ip as string[])[0]!, user: 'u', password: PW, database: 'd' });
  t.teardown(() => c.end().catch(() => undefined));
  await c.query('CREATE TABLE blob_t (id INT AUTO_INCREMENT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB');
  const used1 = await fillUntil(cp, c, id, 0.7);
  t.true(used1 >= 0.7);

  // past 70 %: grown once, 1 → 2 GB (100 %), notified
  const now = new Date();
  t.deepEqual(await autoscaleOnce(ctx, notifier, now), [id]);
  await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && (i?.volume as { size: number }).size === 2, 120_000);
  t.is(notified.length, 1);
  t.like(notified[0]![1], { instance_id: id, volume_size: 1, new_size: 2 });
  t.is(notified[0]![0], 'trove.instance.autoscale');
  const alarms = await cp.http.get(`/ts/instances/${id}/alarms`);
  t.truthy(alarms.data.alarms.last_autoscale_at);

  // past 70 % of 2 GB again, within the cool-down: not grown
  await fillUntil(cp, c, id, 1.4);
  t.deepEqual(await autoscaleOnce(ctx, notifier, new Date(now.getTime() + 60_000)), [], 'within the cool-down');
  t.is(await size(), 2);

  // after the cool-down, but the project's volume quota is 2 GB: refused, notified with why
  await cp.tdb.db('quotas').insert({ id: 'q-autoscale', tenant_id: 'p-local', resource: 'volumes', hard_limit: 2 });
  const later = new Date(now.getTime() + 3601_000);
  t.deepEqual(await autoscaleOnce(ctx, notifier, later), [], 'over the quota');
  t.is(await size(), 2);
  t.is(notified.at(-1)![0], 'trove.instance.autoscale.error');
  t.regex(String(notified.at(-1)![1].message), /quota/);

  // room in the quota: grown by 100 % but only to max_volume_size (3, not 4)
  await cp.tdb.db('quotas').where({ id: 'q-autoscale' }).delete();
  t.deepEqual(await autoscaleOnce(ctx, notifier, new Date(later.getTime() + 3601_000)), [id]);
  await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && (i?.volume as { size: number }).size === 3, 120_000);
  t.like(notified.at(-1)![1], { volume_size: 2, new_size: 3 });
  // at max_volume_size: never again
  t.deepEqual(await autoscaleOnce(ctx, notifier, new Date(later.getTime() + 100 * 3600_000)), []);
  t.is(await size(), 3);
});

test("the taskmanager's own timer grows a volume filled past the threshold, once, to max_volume_size", async (t) => {
  const { cp, id, active } = await instanceToGrow(t, 'grows-by-itself', '1');
  t.is((await cp.http.put(`/ts/instances/${id}/alarms`, { alarms: { max_volume_size: 2 } })).status, 200);
  const c = await mysql.createConnection({ host: (active!.ip as string[])[0]!, user: 'u', password: PW, database: 'd' });
  t.teardown(() => c.end().catch(() => undefined));
  await c.query('CREATE TABLE blob_t (id INT AUTO_INCREMENT PRIMARY KEY, b LONGBLOB) ENGINE=InnoDB');
  await fillUntil(cp, c, id, 0.7);
  // nobody calls the pass: the taskmanager's timer (every second) sees the volume and grows it
  const grown = await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' && (i?.volume as { size: number }).size === 2, 120_000);
  t.is((grown!.volume as { size: number }).size, 2);
  const alarms = await cp.http.get(`/ts/instances/${id}/alarms`);
  t.truthy(alarms.data.alarms.last_autoscale_at);
  // a few more ticks: at max_volume_size, never grown again
  await new Promise((res) => setTimeout(res, 3000));
  t.is(((await cp.http.get(`/instances/${id}`)).data.instance as Instance).volume.size, 2);
});

// /ts/instances/{id}/maintenance and /pending_upgrades (trove-ts extension) on a real Koa server
// and MariaDB: the settings round trip, the pending patch releases, every refusal with Trove's
// error bodies (bad window, bad bool, unknown or another project's instance, policy), and with
// Swift storage the Keystone trust made when automatic upgrades are turned on and removed when off
// (the delegation recorded, not Keystone). The taskmanager's pass is tested in maintenance-upgrade.test.ts.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, RecordingTaskManager, type Harness } from '../helpers/api-harness.js';
import type { Compute, Flavor } from '../../src/clients/compute.js';
import { useSwiftTrusts } from '../helpers/recording-trusts.js';
import { Policy } from '../../src/api/policy/policy.js';

const P = 'proj-maint';
const USER = { token: 'tok-maint-member', projectId: P, roles: ['member'], userId: 'user-maint' };
const READER = { token: 'tok-maint-reader', projectId: P, roles: ['reader'] };
const OTHER = { token: 'tok-maint-other', projectId: 'proj-maint-other', roles: ['member'] };
const flavors: Flavor[] = [{ id: '1', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }];
const compute: Compute = { listFlavors: async () => flavors, getFlavor: async () => flavors[0]! };
let h: Harness;

test.before(async () => {
  h = await startApi({
    users: [USER, READER, OTHER],
    taskmanager: new RecordingTaskManager(),
    authorizer: Policy.load(),
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
  });
  const ds = randomUUID();
  const other = randomUUID();
  const v = (name: string, o: Record<string, unknown> = {}) => ({
    id: randomUUID(),
    datastore_id: ds,
    name,
    version: name,
    manager: 'mariadb',
    image_id: 'img',
    packages: '',
    active: true,
    ...o,
  });
  const current = v('10.11.18');
  await h.tdb.db('datastores').insert([
    { id: ds, name: 'mariadb', default_version_id: current.id },
    { id: other, name: 'mysql', default_version_id: null },
  ]);
  await h.tdb
    .db('datastore_versions')
    .insert([
      current,
      v('10.11.19'),
      { ...v('10.11'), version: '10.11.20' },
      v('10.11.21', { active: false }),
      v('10.11.9'),
      v('11.4.2'),
      v('10.11.22', { datastore_id: other, manager: 'mysql' }),
    ]);
});
test.after.always(() => h?.close());

const api = (tok = USER.token) => h.as(tok);
const path = (inst: string, what = 'maintenance', p = P) => `/v1.0/${p}/ts/instances/${inst}/${what}`;

async function instance(token = USER.token, project = P): Promise<string> {
  const r = await api(token).post(`/v1.0/${project}/instances`, {
    instance: { name: `i-${randomUUID().slice(0, 6)}`, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } },
  });
  if (r.status !== 200) throw new Error(JSON.stringify(r.data));
  return r.data.instance.id as string;
}

test.serial('GET before any setting; PUT a window (RDS text or parts) and auto upgrade; the pending patch releases', async (t) => {
  const inst = await instance();
  const empty = await api().get(path(inst));
  t.is(empty.status, 200, JSON.stringify(empty.data));
  t.deepEqual(empty.data.maintenance, {
    instance_id: inst,
    window: null,
    day_of_week: null,
    start_time: null,
    duration: null,
    window_open: false,
    next_window_start: null,
    auto_minor_version_upgrade: false,
    pending_upgrade: null,
    storage_driver: null,
    last_attempt: null,
    last_skip: null,
  });
  const pending = await api().get(path(inst, 'pending_upgrades'));
  t.is(pending.status, 200);
  t.deepEqual(
    pending.data.pending_upgrades.map((v: { name: string; version: string }) => [v.name, v.version]),
    [
      ['10.11.19', '10.11.19'],
      ['10.11', '10.11.20'],
    ],
    'same datastore and series, newer, active; oldest first',
  );

  const put = await api().put(path(inst), { maintenance: { window: 'Sat:23:30-sun:00:30', auto_minor_version_upgrade: true } });
  t.is(put.status, 200, JSON.stringify(put.data));
  t.like(put.data.maintenance, {
    window: 'sat:23:30-sun:00:30',
    day_of_week: 'sat',
    start_time: '23:30',
    duration: 60,
    auto_minor_version_upgrade: true,
    pending_upgrade: '10.11',
    storage_driver: 'local',
    last_attempt: null,
  });
  t.regex(put.data.maintenance.next_window_start, /^\d{4}-\d\d-\d\dT23:30:00$/);
  t.is(new Date(`${put.data.maintenance.next_window_start}Z`).getUTCDay(), 6);
  // the parts; auto upgrade kept
  const parts = await api().put(path(inst), { maintenance: { window: { day_of_week: 'TUE', start_time: '04:15', duration: 45 } } });
  t.is(parts.status, 200, JSON.stringify(parts.data));
  t.like(parts.data.maintenance, { window: 'tue:04:15-tue:05:00', auto_minor_version_upgrade: true });
  t.deepEqual((await api().get(path(inst))).data.maintenance, parts.data.maintenance);
  // off, then no window
  t.like((await api().put(path(inst), { maintenance: { auto_minor_version_upgrade: false } })).data.maintenance, {
    auto_minor_version_upgrade: false,
    pending_upgrade: null,
    storage_driver: null,
  });
  t.like((await api().put(path(inst), { maintenance: { window: null } })).data.maintenance, { window: null, duration: null });
});

test.serial('bad input: a clear 400 with Trove body; unknown or another project instance 404; a reader 403', async (t) => {
  const inst = await instance();
  const bad = async (body: unknown, re: RegExp) => {
    const r = await api().put(path(inst), body);
    t.is(r.status, 400, JSON.stringify(body));
    t.deepEqual(Object.keys(r.data), ['badRequest'], JSON.stringify(r.data));
    t.is(r.data.badRequest.code, 400);
    t.regex(r.data.badRequest.message, re, JSON.stringify(body));
  };
  await bad(
    { maintenance: { window: 'sun:03:00' } },
    /^Validation error: maintenance\['window'\] "sun:03:00": 'sun:03:00' is not of the form ddd:hh24:mi-ddd:hh24:mi/,
  );
  await bad({ maintenance: { window: 'sux:03:00-sun:04:00' } }, /'sux' is not a day of the week/);
  await bad({ maintenance: { window: 'sun:25:00-mon:01:00' } }, /hour 25 in '25:00' is not 00 to 23/);
  await bad({ maintenance: { window: 'sun:03:00-sun:03:10' } }, /must be 30 minutes to 24 hours, not 10 minutes/);
  await bad({ maintenance: { window: { day_of_week: 'sun', start_time: '03:00' } } }, /maintenance\['window'\] 'duration' is a required property/);
  await bad({ maintenance: { window: { day_of_week: 'sun', start_time: '3am', duration: 60 } } }, /'3am' is not a time of the form hh24:mi/);
  await bad(
    { maintenance: { window: { day_of_week: 'sun', start_time: '03:00', duration: 60, tz: 'CET' } } },
    /Additional properties are not allowed \('tz' was unexpected\)/,
  );
  await bad({ maintenance: { window: 5 } }, /maintenance\['window'\] 5 is not of type 'string', 'object', 'null'/);
  await bad(
    { maintenance: { auto_minor_version_upgrade: 'yes' } },
    /^Validation error: maintenance\['auto_minor_version_upgrade'\] "yes" is not of type 'boolean'/,
  );
  await bad({ maintenance: { auto_minor_version_upgrade: 1 } }, /is not of type 'boolean'/);
  await bad({ maintenance: {} }, /give at least one of 'window', 'auto_minor_version_upgrade'/);
  await bad({ maintenance: { window: 'sun:03:00-sun:04:00', extra: 1 } }, /Additional properties are not allowed \('extra' was unexpected\)/);
  await bad({ other: {} }, /Additional properties are not allowed|'maintenance' is a required property/);
  await bad({ maintenance: { auto_minor_version_upgrade: true } }, /need a maintenance window: give 'window'/);
  t.like((await api().get(path(inst))).data.maintenance, { window: null, auto_minor_version_upgrade: false }, 'nothing saved');

  const unknown = randomUUID();
  const missing = await api().put(path(unknown), { maintenance: { window: 'sun:03:00-sun:04:00' } });
  t.is(missing.status, 404);
  t.deepEqual(Object.keys(missing.data), ['itemNotFound']);
  t.is((await api().get(path(unknown))).status, 404);
  t.is((await api().get(path(unknown, 'pending_upgrades'))).status, 404);
  // another project's instance: not found, whichever project the URL names
  const theirs = await instance(OTHER.token, OTHER.projectId);
  t.is((await api().get(path(theirs))).status, 404);
  t.is((await api().put(path(theirs), { maintenance: { window: 'sun:03:00-sun:04:00' } })).status, 404);
  t.is((await api().get(path(theirs, 'pending_upgrades'))).status, 404);
  t.is((await api().put(path(theirs, 'maintenance', OTHER.projectId), { maintenance: { window: 'sun:03:00-sun:04:00' } })).status, 403);
  t.like((await api(OTHER.token).get(path(theirs, 'maintenance', OTHER.projectId))).data.maintenance, { window: null });
  // policy: a reader may look, not change
  t.is((await api(READER.token).get(path(inst))).status, 200);
  t.is((await api(READER.token).put(path(inst), { maintenance: { window: 'sun:03:00-sun:04:00' } })).status, 403);
});

test.serial(
  'Swift storage: turning automatic upgrades on makes a trust (sealed in the row), once; off deletes it; a token that cannot delegate is a 403',
  async (t) => {
    const { trusts, box } = useSwiftTrusts(h, t, { userId: USER.userId, projectId: P });
    const inst = await instance();
    const on = await api().put(path(inst), { maintenance: { window: 'sun:03:00-sun:04:00', auto_minor_version_upgrade: true } });
    t.is(on.status, 200, JSON.stringify(on.data));
    t.is(on.data.maintenance.storage_driver, 'swift');
    t.deepEqual(
      trusts.created.map((c) => c.token),
      [USER.token],
    );
    const row = await h.tdb.db('instance_maintenance').where({ instance_id: inst }).first();
    t.deepEqual(JSON.parse(box.open(row.sealed_credential)), { trust_id: 'trust-1' });
    t.false(JSON.stringify(on.data).includes('trust-1'), 'the view never shows it');
    // already on: a new window keeps the trust
    t.is((await api().put(path(inst), { maintenance: { window: 'mon:03:00-mon:04:00', auto_minor_version_upgrade: true } })).status, 200);
    t.is(trusts.created.length, 1);
    const off = await api().put(path(inst), { maintenance: { auto_minor_version_upgrade: false } });
    t.is(off.status, 200);
    t.deepEqual(trusts.deleted, [{ token: USER.token, trustId: 'trust-1' }]);
    t.is((await h.tdb.db('instance_maintenance').where({ instance_id: inst }).first()).sealed_credential, null);

    trusts.refuse = true;
    const refused = await api().put(path(inst), { maintenance: { auto_minor_version_upgrade: true } });
    t.is(refused.status, 403);
    t.regex(refused.data.forbidden.message, /Keystone refused a trust for the automatic minor version upgrades/);
    t.is((await api().get(path(inst))).data.maintenance.auto_minor_version_upgrade, false, 'nothing changed');
    t.false(h.logs.join('').includes(USER.token), 'the token is never logged');
  },
);

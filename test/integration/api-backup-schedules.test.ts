// /ts/instances/{id}/backup_schedules (trove-ts extension) on a real Koa server and MariaDB: create,
// list, show, update, delete and every refusal with Trove's error bodies; policy; with Swift
// storage the Keystone trust made at create and removed at delete (the delegation recorded, not
// Keystone: the exact Keystone requests are nock-tested in src/clients/openstack/keystone.test.ts).
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, RecordingTaskManager, type Harness } from '../helpers/api-harness.js';
import type { Compute, Flavor } from '../../src/clients/compute.js';
import { useSwiftTrusts } from '../helpers/recording-trusts.js';
import { Policy } from '../../src/api/policy/policy.js';

const P = 'proj-sched';
const USER = { token: 'tok-sched-member', projectId: P, roles: ['member'], userId: 'user-sched' };
const READER = { token: 'tok-sched-reader', projectId: P, roles: ['reader'] };
const MEMBER2 = { token: 'tok-sched-member2', projectId: P, roles: ['member'], userId: 'user-sched-2' };
const OTHER = { token: 'tok-sched-other', projectId: 'proj-sched-other', roles: ['member'] };
const flavors: Flavor[] = [{ id: '1', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }];
const compute: Compute = { listFlavors: async () => flavors, getFlavor: async () => flavors[0]! };
let h: Harness;

test.before(async () => {
  h = await startApi({
    users: [USER, MEMBER2, READER, OTHER],
    taskmanager: new RecordingTaskManager(),
    authorizer: Policy.load(),
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
  });
  const ds = randomUUID();
  const v = randomUUID();
  await h.tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: v });
  await h.tdb
    .db('datastore_versions')
    .insert({ id: v, datastore_id: ds, name: '10.11', version: '10.11.19', manager: 'mariadb', image_id: 'img', packages: '', active: true });
});
test.after.always(() => h?.close());

const api = (tok = USER.token) => h.as(tok);
const path = (inst: string, p = P) => `/v1.0/${p}/ts/instances/${inst}/backup_schedules`;

async function instance(token = USER.token, project = P): Promise<string> {
  const r = await api(token).post(`/v1.0/${project}/instances`, {
    instance: { name: `i-${randomUUID().slice(0, 6)}`, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } },
  });
  return r.data.instance.id as string;
}

test.serial('create: 202 with the view and the next run; list, show; stored with the local store and no trust', async (t) => {
  const inst = await instance();
  const before = Date.now();
  const r = await api().post(path(inst), { backup_schedule: { name: 'nightly', cron: '0 3 * * *', retention: 7 } });
  t.is(r.status, 202, JSON.stringify(r.data));
  const s = r.data.backup_schedule;
  t.like(s, {
    name: 'nightly',
    instance_id: inst,
    project_id: P,
    cron: '0 3 * * *',
    retention: 7,
    enabled: true,
    last_run_at: null,
    last_backup_id: null,
    last_error: null,
    storage_driver: 'local',
  });
  t.regex(s.id, /^[0-9a-f-]{36}$/);
  const next = new Date(`${s.next_run_at}Z`);
  t.is(next.getUTCHours(), 3);
  t.is(next.getUTCMinutes(), 0);
  t.true(next.getTime() > before && next.getTime() <= before + 24 * 3600_000, s.next_run_at);
  const row = await h.tdb.db('backup_schedules').where({ id: s.id }).first();
  t.is(row.sealed_credential, null);
  t.is(row.user_id, USER.userId);

  const list = await api().get(path(inst));
  t.is(list.status, 200);
  t.deepEqual(
    list.data.backup_schedules.map((x: { id: string }) => x.id),
    [s.id],
  );
  const show = await api().get(`${path(inst)}/${s.id}`);
  t.is(show.status, 200);
  t.deepEqual(show.data.backup_schedule, s);
  t.is((await api(READER.token).get(`${path(inst)}/${s.id}`)).status, 200, 'a reader may look');
});

test.serial('bad input: every refusal is a Trove error body naming what is wrong', async (t) => {
  const inst = await instance();
  const post = (b: unknown) => api().post(path(inst), b);
  const cases: Array<[unknown, RegExp]> = [
    [{ backup_schedule: { name: 'n', cron: '61 * * * *', retention: 1 } }, /cron.*minute field '61'/],
    [{ backup_schedule: { name: 'n', cron: '0 3 * * FUNDAY', retention: 1 } }, /cron day of week field/],
    [{ backup_schedule: { name: 'n', cron: '0 0 3 * * *', retention: 1 } }, /5 fields/],
    [{ backup_schedule: { name: 'n', cron: '0 0 31 2 *', retention: 1 } }, /never matches/],
    [{ backup_schedule: { name: 'n', cron: '* * * * *', retention: 0 } }, /retention'\] 0 is less than the minimum of 1/],
    [{ backup_schedule: { name: 'n', cron: '* * * * *', retention: 1.5 } }, /retention/],
    [{ backup_schedule: { name: 'n', cron: '* * * * *' } }, /'retention' is a required property/],
    [{ backup_schedule: { name: 'bad name/x', cron: '* * * * *', retention: 1 } }, /name/],
    [{ backup_schedule: { name: 'n', cron: '* * * * *', retention: 1, color: 'red' } }, /'color' was unexpected/],
    [{ name: 'n' }, /'backup_schedule' is a required property|'name' was unexpected/],
  ];
  for (const [body, msg] of cases) {
    const r = await post(body);
    t.is(r.status, 400, JSON.stringify(body));
    t.is(r.data.badRequest?.code, 400, JSON.stringify(r.data));
    t.regex(r.data.badRequest.message, msg, JSON.stringify(body));
  }
  t.is(
    await h.tdb
      .db('backup_schedules')
      .where({ instance_id: inst })
      .count({ n: '*' })
      .first()
      .then((x) => Number(x?.n)),
    0,
  );
});

test.serial("unknown instance, another project's instance, a schedule of another instance: 404", async (t) => {
  const body = { backup_schedule: { name: 'n', cron: '* * * * *', retention: 1 } };
  const missing = await api().post(path(randomUUID()), body);
  t.is(missing.status, 404);
  t.regex(missing.data.itemNotFound.message, /cannot be found/);
  const theirs = await instance(OTHER.token, OTHER.projectId);
  t.is((await api().post(path(theirs), body)).status, 404, 'through my project');
  t.is((await api().get(path(theirs, OTHER.projectId))).status, 403, 'my token on their project path');
  const mine = await instance();
  const other = await instance();
  const s = (await api().post(path(mine), body)).data.backup_schedule;
  t.is((await api().get(`${path(other)}/${s.id}`)).status, 404);
  t.is((await api().delete(`${path(other)}/${s.id}`)).status, 404);
  t.is((await api().get(`${path(mine)}/${randomUUID()}`)).status, 404);
});

test.serial('at most 10 schedules per instance: the 11th is a 400', async (t) => {
  const inst = await instance();
  for (let i = 0; i < 10; i++) t.is((await api().post(path(inst), { backup_schedule: { name: `s${i}`, cron: `${i} * * * *`, retention: 1 } })).status, 202);
  const r = await api().post(path(inst), { backup_schedule: { name: 's10', cron: '* * * * *', retention: 1 } });
  t.is(r.status, 400);
  t.regex(r.data.badRequest.message, /already has 10 backup schedules/);
  t.is((await api().get(path(inst))).data.backup_schedules.length, 10);
});

test.serial('update: cron, retention, enabled; a disabled schedule has no next run; bad patches are 400', async (t) => {
  const inst = await instance();
  const s = (await api().post(path(inst), { backup_schedule: { name: 'hourly', cron: '15 * * * *', retention: 3 } })).data.backup_schedule;
  const one = `${path(inst)}/${s.id}`;
  const off = await api().patch(one, { backup_schedule: { enabled: false } });
  t.is(off.status, 200, JSON.stringify(off.data));
  t.like(off.data.backup_schedule, { enabled: false, next_run_at: null });
  const on = await api().patch(one, { backup_schedule: { enabled: true, cron: '*/5 * * * *', retention: 9 } });
  t.like(on.data.backup_schedule, { enabled: true, cron: '*/5 * * * *', retention: 9 });
  t.is(new Date(`${on.data.backup_schedule.next_run_at}Z`).getUTCMinutes() % 5, 0);
  t.true(new Date(`${on.data.backup_schedule.next_run_at}Z`).getTime() - Date.now() <= 5 * 60_000);
  for (const [body, msg] of [
    [{ backup_schedule: {} }, /at least one of/],
    [{ backup_schedule: { retention: 0 } }, /minimum of 1/],
    [{ backup_schedule: { cron: '* 99 * * *' } }, /hour field/],
    [{ backup_schedule: { name: 'renamed' } }, /'name' was unexpected/],
    [{ backup_schedule: { enabled: 'yes' } }, /is not of type 'boolean'/],
  ] as Array<[unknown, RegExp]>) {
    const r = await api().patch(one, body);
    t.is(r.status, 400, JSON.stringify(body));
    t.regex(r.data.badRequest.message, msg);
  }
  t.like((await api().get(one)).data.backup_schedule, { cron: '*/5 * * * *', retention: 9, enabled: true });
});

test.serial('delete: 202, then gone (404), soft-deleted', async (t) => {
  const inst = await instance();
  const s = (await api().post(path(inst), { backup_schedule: { name: 'gone', cron: '0 0 * * *', retention: 2 } })).data.backup_schedule;
  t.is((await api().delete(`${path(inst)}/${s.id}`)).status, 202);
  t.is((await api().get(`${path(inst)}/${s.id}`)).status, 404);
  t.is((await api().delete(`${path(inst)}/${s.id}`)).status, 404);
  t.deepEqual((await api().get(path(inst))).data.backup_schedules, []);
  const row = await h.tdb.db('backup_schedules').where({ id: s.id }).first();
  t.truthy(row.deleted);
  t.truthy(row.deleted_at);
});

test.serial('policy: a reader may list and show but not create, update or delete (403)', async (t) => {
  const inst = await instance();
  const s = (await api().post(path(inst), { backup_schedule: { name: 'p', cron: '0 0 * * *', retention: 2 } })).data.backup_schedule;
  const reader = api(READER.token);
  t.is((await reader.get(path(inst))).status, 200);
  const refused = await reader.post(path(inst), { backup_schedule: { name: 'r', cron: '0 0 * * *', retention: 2 } });
  t.is(refused.status, 403);
  t.truthy(refused.data.forbidden);
  t.is((await reader.patch(`${path(inst)}/${s.id}`, { backup_schedule: { retention: 5 } })).status, 403);
  t.is((await reader.delete(`${path(inst)}/${s.id}`)).status, 403);
  t.is((await api('no-such-token').get(path(inst))).status, 401);
});

test.serial(
  "Swift storage: create makes a trust from the caller (sealed in the row); delete removes it with the caller's token, or the trust's own when the caller is not the trustor",
  async (t) => {
    const { trusts, box } = useSwiftTrusts(h, t, { userId: USER.userId, projectId: P });
    const inst = await instance();
    const r = await api().post(path(inst), { backup_schedule: { name: 'swifty', cron: '0 4 * * *', retention: 2 } });
    t.is(r.status, 202, JSON.stringify(r.data));
    t.is(r.data.backup_schedule.storage_driver, 'swift');
    t.is(trusts.created.length, 1);
    t.is(trusts.created[0]!.token, USER.token);
    t.like(trusts.created[0]!.user, { userId: USER.userId, projectId: P, roles: ['member'] });
    const row = await h.tdb.db('backup_schedules').where({ id: r.data.backup_schedule.id }).first();
    t.false(String(row.sealed_credential).includes('trust-1'), 'the trust id is sealed');
    t.deepEqual(JSON.parse(box.open(row.sealed_credential)), { trust_id: 'trust-1' });
    t.false(JSON.stringify(r.data).includes('trust-1'), 'the view never shows it');

    t.is((await api().delete(`${path(inst)}/${r.data.backup_schedule.id}`)).status, 202);
    t.deepEqual(trusts.deleted, [{ token: USER.token, trustId: 'trust-1' }]);

    // another member of the project deletes a schedule: Keystone refuses their token, the trust's own token deletes it
    const second = (await api().post(path(inst), { backup_schedule: { name: 'swifty3', cron: '0 5 * * *', retention: 2 } })).data.backup_schedule;
    trusts.notTrustor.add(MEMBER2.token);
    t.is((await api(MEMBER2.token).delete(`${path(inst)}/${second.id}`)).status, 202);
    t.deepEqual(trusts.deleted.at(-1), { token: 'scoped-trust-2', trustId: 'trust-2' });

    trusts.refuse = true;
    const refused = await api().post(path(inst), { backup_schedule: { name: 'swifty2', cron: '0 4 * * *', retention: 2 } });
    t.is(refused.status, 403);
    t.regex(refused.data.forbidden.message, /Keystone refused a trust/);
    t.is((await api().get(path(inst))).data.backup_schedules.length, 0, 'nothing stored');
    t.false(h.logs.join('').includes(USER.token), 'the token is never logged');
  },
);

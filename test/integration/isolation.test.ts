// Isolation suite (issue 12 item 8): every route of the API (from the router's own table) called
// with another project's ids, as member, reader and admin of the attacking project, under the
// attacker's URL and the victim's. A leak: a 2xx on a route naming a victim resource for a
// non-admin, an answer that differs from the one for an id that does not exist (an existence
// oracle), or a victim id or name the request did not carry in any non-admin body.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, RecordingTaskManager, type Harness } from '../helpers/api-harness.js';
import { Policy } from '../../src/api/policy/policy.js';
import { projectRouteTable } from '../../src/api/app.js';
import type { Compute, Flavor } from '../../src/clients/compute.js';
import { registerDatastore } from '../helpers/datastores.js';
import { insertBackup } from '../../src/db/backups.js';
import { createConfiguration } from '../../src/db/configurations.js';
import { insertSchedule } from '../../src/db/backup-schedules.js';

const V = 'proj-victim';
const A = 'proj-attacker';
const VICTIM = { token: 'tok-iso-victim', projectId: V, roles: ['member'] };
const ATTACKERS = [
  { token: 'tok-iso-member', projectId: A, roles: ['member'], admin: false },
  { token: 'tok-iso-reader', projectId: A, roles: ['reader'], admin: false },
  { token: 'tok-iso-admin', projectId: A, roles: ['admin'], admin: true },
];
const flavors: Flavor[] = [{ id: '1', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }];
const compute: Compute = { listFlavors: async () => flavors, getFlavor: async () => flavors[0]! };
const RATE = '1000000';

let h: Harness;
const victim = { instance: '', backup: '', configuration: '', schedule: '', names: ['iso-victim-db', 'iso-victim-bk', 'iso-victim-cfg', 'iso-victim-sched'] };

test.before(async () => {
  h = await startApi({
    users: [VICTIM, ...ATTACKERS],
    taskmanager: new RecordingTaskManager(),
    authorizer: Policy.load(),
    config: { http_get_rate: RATE, http_post_rate: RATE, http_put_rate: RATE, http_delete_rate: RATE, http_mgmt_post_rate: RATE },
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
  });
  const ds = await registerDatastore(h.tdb.db);
  const r = await h
    .as(VICTIM.token)
    .post(`/v1.0/${V}/instances`, { instance: { name: victim.names[0], flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.data));
  victim.instance = r.data.instance.id;
  await h.tdb.db('instances').where({ id: victim.instance }).update({ task_id: 1 });
  victim.backup = randomUUID();
  await insertBackup(h.tdb.db, {
    id: victim.backup,
    name: victim.names[1]!,
    description: null,
    tenantId: V,
    instanceId: victim.instance,
    parentId: null,
    datastoreVersionId: ds.versionId,
    storageDriver: 'local',
    backupType: 'full',
  });
  await h.tdb.db('backups').where({ id: victim.backup }).update({ state: 'COMPLETED' });
  victim.configuration = await createConfiguration(h.tdb.db, { name: victim.names[2]!, description: null, tenantId: V, datastoreVersionId: ds.versionId }, {});
  victim.schedule = randomUUID();
  await insertSchedule(h.tdb.db, {
    id: victim.schedule,
    tenant_id: V,
    instance_id: victim.instance,
    name: victim.names[3]!,
    cron: '0 * * * *',
    retention: 2,
    enabled: true,
    next_run_at: null,
    storage_driver: 'local',
    user_id: null,
    sealed_credential: null,
  });
});
test.after.always(() => h?.close());

type Ids = { instance: string; backup: string; configuration: string; schedule: string; project: string };
/** A route's path with its parameters filled from `ids` (the victim's, or ones that do not exist). */
function fill(path: string, ids: Ids): string {
  return path.replace(/:([a-z_]+)/g, (_m, name: string, offset: number) => {
    const before = path.slice(0, offset);
    if (name === 'project') return ids.project;
    if (name === 'instance_id') return ids.instance;
    if (name === 'id' && before.endsWith('/backup_schedules/')) return ids.schedule;
    if (name === 'id' && before.endsWith('/backups/')) return ids.backup;
    if (name === 'id' && before.endsWith('/configurations/')) return ids.configuration;
    if (name === 'id' && before.endsWith('/instances/')) return ids.instance;
    return 'iso-name'; // database, user, datastore, version, parameter names
  });
}
const BODIES: Array<[RegExp, (ids: Ids) => unknown]> = [
  [/\/action$/, () => ({ restart: {} })],
  [/^\/backups$/, (ids) => ({ backup: { name: 'b', instance: ids.instance } })],
  [/^\/instances$/, (ids) => ({ instance: { name: 'x', flavorRef: '1', replica_of: ids.instance } })],
  [/^\/backup_strategies$/, (ids) => ({ backup_strategy: { instance_id: ids.instance, swift_container: 'c' } })],
  [/\/databases$/, () => ({ databases: [{ name: 'd' }] })],
  [/\/root$/, () => ({})],
];
const bodyFor = (path: string, ids: Ids) => BODIES.find(([re]) => re.test(path))?.[1](ids) ?? {};

test("isolation: every route with another project's ids leaks nothing", async (t) => {
  const routes = projectRouteTable(h.deps);
  const real: Ids = { ...victim, project: V };
  const foreign = [victim.instance, victim.backup, victim.configuration, victim.schedule, ...victim.names];
  let attempts = 0;
  const leaks: string[] = [];
  let foreignInBodies = 0;
  const queries = ['', `?marker=${victim.instance}`, `?project_id=${V}`, `?instance_id=${victim.instance}`];
  for (const who of ATTACKERS) {
    for (const urlProject of [A, V]) {
      for (const r of routes) {
        for (const q of r.method === 'GET' && !r.path.includes(':') ? queries : ['']) {
          const fake: Ids = {
            instance: randomUUID(),
            backup: randomUUID(),
            configuration: randomUUID(),
            schedule: randomUUID(),
            project: `proj-${randomUUID()}`,
          };
          const send = async (ids: Ids, query: string) => {
            const url = `/v1.0/${urlProject}${fill(r.path, ids)}${query}`;
            const res = await h
              .as(who.token)
              .request({ method: r.method, url, data: r.method === 'GET' || r.method === 'DELETE' ? undefined : bodyFor(r.path, ids) });
            return { url, status: res.status, text: typeof res.data === 'string' ? res.data : JSON.stringify(res.data ?? '') };
          };
          const got = await send(real, q);
          attempts++;
          const namesVictim =
            [real.instance, real.backup, real.configuration, real.schedule, real.project].some((id) => fill(r.path, real).includes(id)) || q !== '';
          // Trove's admin may see every project (mgmt, any id, and Trove's Configurations.load lists every group to an admin)
          if (who.admin && urlProject === A && (r.path.startsWith('/mgmt') || namesVictim || r.path === '/configurations')) continue;
          let text = got.text;
          for (const id of [real.instance, real.backup, real.configuration, real.schedule, real.project])
            if (got.url.includes(id) || JSON.stringify(bodyFor(r.path, real)).includes(id)) text = text.split(id).join('<given>');
          const hits = foreign.filter((f) => text.includes(f)).length;
          foreignInBodies += hits;
          if (hits) leaks.push(`${who.roles[0]} ${r.method} ${got.url}: body names the victim's resources`);
          if (namesVictim && got.status < 300 && !(q && !r.path.includes(':'))) leaks.push(`${who.roles[0]} ${r.method} ${got.url}: ${got.status}`);
          if (/:(id|instance_id|project)\b/.test(r.path)) {
            const twin = await send(fake, q.replace(victim.instance, fake.instance).replace(V, fake.project));
            let twinText = twin.text;
            for (const v of Object.values(fake)) twinText = twinText.split(v).join('<given>');
            if (twin.status !== got.status || twinText !== text)
              leaks.push(`${who.roles[0]} ${r.method} ${got.url}: ${got.status} differs from an unknown id's ${twin.status}`);
          }
        }
      }
    }
  }
  const line = `isolation: ${attempts} attempts, ${leaks.length} leaks, ${foreignInBodies} foreign ids in bodies`;
  t.log(line);
  console.log(line);
  for (const l of leaks.slice(0, 20)) t.log(l);
  t.true(attempts >= 300, line);
  t.deepEqual(leaks, []);
  t.is(foreignInBodies, 0);
});

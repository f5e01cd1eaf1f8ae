// The real Horizon with trove-dashboard (Debian's openstack-dashboard 23 + python3-trove-dashboard
// 19, tools/lab/horizon.sh) against the whole control plane, driven over HTTP as a browser would:
// the demo user logs in, switches to the test's region, and reads the Database panels; the launch
// workflow's form creates an instance in trove-ts. The region is a cloud's, of this test's own
// (test/helpers/horizon-region.ts). horizon-browser.test.ts drives the same Horizon from Chromium.
import test from 'ava';
import type { AxiosInstance } from 'axios';
import { waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { DEMO } from '../helpers/keystone-lab.js';
import { startHorizonRegion, type NovaFlavor } from '../helpers/horizon-region.js';
import { Horizon, banners, definitions, errorBanners, formFields, horizonTest, selectOptions, tableRow, text } from '../helpers/horizon.js';

const REGION = 'trove-ts-test-horizon';
const it = await horizonTest(test);

let cp: ControlPlane;
let api: AxiosInstance;
let id: string;
let ip: string;
let flavor: NovaFlavor;
const hz = new Horizon();

/** A page that rendered: HTTP 200, not bounced to the login page, no error banner. */
function rendered(
  t: { is: (a: unknown, b: unknown, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void },
  page: { status: number; path: string; body: string; hops: string[] },
  path: string,
) {
  t.is(page.status, 200, `${path}: HTTP ${page.status} (${page.hops.join(' → ')}): ${text(page.body).slice(0, 300)}`);
  t.is(page.path, path, `${path} ended at ${page.path}`);
  t.deepEqual(errorBanners(page.body), [], `${path}: error banner`);
}

it.before(async () => {
  const region = await startHorizonRegion(REGION);
  ({ cp, api } = region);
  flavor = region.flavors[0]!;
  const created = await api.post('/instances', { instance: { name: 'hz1', flavorRef: flavor.id, volume: { size: 1 }, datastore: { type: 'mariadb' } } });
  if (created.status !== 200) throw new Error(`create: HTTP ${created.status} ${JSON.stringify(created.data)}`);
  id = created.data.instance.id;
  const active = await waitForInstance(api, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  if (active?.status !== 'ACTIVE') throw new Error(`instance: ${JSON.stringify(active)}`);
  ip = String((active.ip as string[])[0]);
});
it.after.always(async () => {
  await cp?.stop();
});

it.serial('log in as the demo user and switch to the test region', async (t) => {
  const home = await hz.login(DEMO.name, DEMO.password);
  t.is(home.status, 200, home.hops.join(' → '));
  t.not(home.path, '/auth/login/', `login refused: ${errorBanners(home.body).join('; ') || text(home.body).slice(0, 300)}`);
  t.truthy(hz.cookie('sessionid'));
  t.true(home.body.includes(`/auth/switch_services_region/${REGION}/`), 'the region is offered');
  const page = await hz.get(`/auth/switch_services_region/${REGION}/?next=/project/databases/`);
  rendered(t, page, '/project/databases/');
  t.is(hz.cookie('services_region'), REGION);
});

it.serial('Database → Instances lists the instance: name, datastore, version, host, size, volume, status', async (t) => {
  const page = await hz.get('/project/databases/');
  rendered(t, page, '/project/databases/');
  t.regex(page.body, /<title>\s*Instances - OpenStack Dashboard\s*<\/title>/);
  const row = tableRow(page.body, 'databases', id);
  t.truthy(row, `no row for ${id}: ${text(page.body).slice(0, 500)}`);
  // checkbox, name, datastore, datastore version, host, size, volume size, status, actions
  t.true(row!.includes('hz1'), JSON.stringify(row));
  t.true(row!.includes('mariadb'), JSON.stringify(row));
  t.true(row!.includes('10.11'), JSON.stringify(row));
  t.true(row!.includes(ip), JSON.stringify(row));
  t.true(
    row!.some((c) => c.startsWith(flavor.name)),
    `flavor ${flavor.name} in ${JSON.stringify(row)}`,
  );
  t.true(row!.includes('1GB'), JSON.stringify(row));
  t.true(row!.includes('Active'), JSON.stringify(row));
});

it.serial('the instance detail page: overview with status, datastore, version, flavor, volume, ip', async (t) => {
  const page = await hz.get(`/project/databases/${id}/`);
  rendered(t, page, `/project/databases/${id}/`);
  const d = definitions(page.body);
  t.is(d.Name, 'hz1', JSON.stringify(d));
  t.is(d.ID, id);
  t.is(d.Datastore, 'mariadb');
  t.is(d['Datastore Version'], '10.11');
  t.is(d.Status, 'Active');
  t.is(d.Flavor, flavor.name);
  t.is(d.RAM, flavor.ram % 1024 === 0 ? `${flavor.ram / 1024}GB` : `${flavor.ram}MB`);
  t.is(d['Volume Size'], '1GB');
  t.regex(text(page.body), new RegExp(`Host\\s+${ip.replace(/\./g, '\\.')}`));
});

it.serial('the instance detail tabs: users, databases, backups, configuration defaults, logs', async (t) => {
  t.is((await api.post(`/instances/${id}/databases`, { databases: [{ name: 'shop' }] })).status, 202);
  t.is((await api.post(`/instances/${id}/users`, { users: [{ name: 'app', password: 'App-pass-1', databases: [{ name: 'shop' }] }] })).status, 202);
  const logs = (await api.get(`/instances/${id}/log`)).data.logs as Array<{ name: string }>;
  const tab = async (slug: string, table: string) => {
    const page = await hz.get(`/project/databases/${id}/?tab=instance_details__${slug}`, { 'X-Requested-With': 'XMLHttpRequest' });
    t.is(page.status, 200, `${slug}: HTTP ${page.status}`);
    t.deepEqual(errorBanners(page.body), [], slug);
    t.false(/Unable to|Error:/.test(text(page.body)), `${slug}: ${text(page.body).slice(0, 300)}`);
    t.regex(page.body, new RegExp(`<table[^>]*id="${table}"`), `${slug}: no table ${table}`);
    return page.body;
  };
  t.deepEqual(tableRow(await tab('users_tab', 'users'), 'users', 'app@%')?.slice(1, 4), ['app', '%', 'shop']);
  t.deepEqual(tableRow(await tab('database_tab', 'databases'), 'databases', 'shop')?.slice(1, 2), ['shop']);
  t.true(text(await tab('backups_tab', 'backups')).includes('No items to display.'));
  t.regex(text(await tab('config_defaults', 'config_defaults')), /max_connections \d+/);
  const logsTab = text(await tab('logs_tab', 'logs'));
  t.true(logs.length > 0);
  for (const l of logs) t.true(logsTab.includes(l.name), `log ${l.name} in ${logsTab.slice(0, 300)}`);
});

it.serial('Database → Backups renders the empty list', async (t) => {
  const page = await hz.get('/project/database_backups/');
  rendered(t, page, '/project/database_backups/');
  t.regex(page.body, /<title>\s*Database Backups - OpenStack Dashboard\s*<\/title>/);
  t.true(text(page.body).includes('No items to display.'));
});

it.serial('Launch Database: the workflow form creates an instance in trove-ts, with its initial database and user', async (t) => {
  const form = await hz.get('/project/databases/launch');
  rendered(t, form, '/project/databases/launch');
  const fields = formFields(form.body, 'launch');
  const ds = selectOptions(form.body, 'datastore');
  const choice = ds.find(([, label]) => label.includes('mariadb'));
  t.truthy(choice, `datastores offered: ${JSON.stringify(ds)}`);
  const set = (k: string, v: string) => {
    const f = fields.find((x) => x[0] === k);
    if (f) f[1] = v;
    else fields.push([k, v]);
  };
  set('name', 'hz2');
  set('volume', '1');
  set('databases', 'shop');
  set('user', 'app');
  set('password', 'App-pass-1');
  set('datastore', choice![0]);
  // the flavor select of the chosen datastore version is named like the choice (hex of "mariadb - 10.11")
  const flavorField = choice![0];
  t.deepEqual(
    selectOptions(form.body, flavorField)
      .map(([v]) => v)
      .sort(),
    [...(await api.get('/flavors')).data.flavors.map((f: { str_id: string }) => f.str_id)].sort(),
  );
  set(flavorField, flavor.id);
  const done = await hz.post('/project/databases/launch', fields);
  t.deepEqual(errorBanners(done.body), [], 'launch: error banner');
  t.is(done.path, '/project/databases/', `after launch: ${done.hops.join(' → ')}: ${text(done.body).slice(0, 500)}`);
  t.deepEqual(banners(done.body, 'success'), ['Success: Launched instance named "hz2".']);
  const list = await api.get('/instances');
  const hz2 = (list.data.instances as Array<Record<string, any>>).find((i) => i.name === 'hz2');
  t.truthy(hz2, JSON.stringify(list.data));
  t.is(hz2!.flavor.id, flavor.id);
  t.is(hz2!.volume.size, 1);
  t.is(hz2!.datastore.type, 'mariadb');
  t.is(hz2!.datastore.version, '10.11');
  const active = await waitForInstance(api, hz2!.id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  t.is(active?.status, 'ACTIVE', JSON.stringify(active));
  // the initial database and user of the form, made by the guest
  t.deepEqual(
    (await api.get(`/instances/${hz2!.id}/databases`)).data.databases.map((d: { name: string }) => d.name),
    ['shop'],
  );
  const users = (await api.get(`/instances/${hz2!.id}/users`)).data.users as Array<{ name: string; host: string; databases: Array<{ name: string }> }>;
  t.deepEqual(
    users.map((u) => [u.name, u.host, u.databases.map((d) => d.name)]),
    [['app', '%', ['shop']]],
  );
  const page = await hz.get('/project/databases/');
  rendered(t, page, '/project/databases/');
  t.true(tableRow(page.body, 'databases', hz2!.id)?.includes('Active'));
});

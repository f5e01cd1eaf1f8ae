// The real `openstack database backup ...` CLI through Keystone: backup an instance whose guest
// runs a real mariadbd into the local object store, list/show it, restore it into a new instance
// with `instance create --backup` and read the row back, strategies, delete.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import axios, { type AxiosInstance } from 'axios';
import { startControlPlane, waitForBackup, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { DEMO, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { openstack, openstackJson } from '../helpers/openstack-cli.js';
import { registerDatastore } from '../helpers/datastores.js';

const REGION = 'trove-ts-test-backups';
let cp: ControlPlane;
let http: AxiosInstance;

test.before(async () => {
  cp = await startControlPlane({ config: keystoneConfig() });
  await registerDatastore(cp.tdb.db);
  const ks = await keystoneAdmin();
  await ks.endpoint('database', 'trove-ts', `${cp.api.url}/v1.0/$(tenant_id)s`, REGION);
  const tok = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  http = axios.create({ baseURL: `${cp.api.url}/v1.0/${tok.projectId}`, headers: { 'X-Auth-Token': tok.token }, validateStatus: () => true });
});
test.after.always(() => cp?.stop());

const cli = (...args: string[]) => openstack(DEMO, REGION, args);
const sql = (ip: string, query: string) =>
  execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pCli-Bk-1', 'shop', '-N', '-e', query], { stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();
const ipOf = (i: Record<string, unknown> | undefined) => String((i!.ip as string[])[0]);

test.serial('backup create / list / show, restore with instance create --backup, strategy, delete', async (t) => {
  const created = await openstackJson<Record<string, unknown>>(DEMO, REGION, [
    'database',
    'instance',
    'create',
    'bk1',
    '--flavor',
    'ds512M',
    '--size',
    '1',
    '--datastore',
    'mariadb',
    '--databases',
    'shop',
    '--users',
    'app:Cli-Bk-1',
  ]);
  const id = String(created.id);
  const src = await waitForInstance(http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  t.is(src!.status, 'ACTIVE');
  sql(ipOf(src), 'CREATE TABLE t (v TEXT); INSERT INTO t VALUES ("from the backup")');

  const b = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'backup', 'create', 'cli-nightly', '-i', 'bk1', '--description', 'cli']);
  t.is(b.name, 'cli-nightly');
  t.is(b.status, 'NEW');
  t.is(b.instance_id, id);
  // waited for through the API (each CLI call is a Python start and a Keystone login), then shown by the CLI
  await waitForBackup(http, String(b.id), undefined, 120_000);
  const shown = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'backup', 'show', 'cli-nightly']);
  t.is(shown.status, 'COMPLETED');
  t.is(shown.description, 'cli');
  t.truthy(shown.locationRef);
  const list = await openstackJson<Array<Record<string, unknown>>>(DEMO, REGION, ['database', 'backup', 'list']);
  t.true(list.some((x) => x.Name === 'cli-nightly' && x.Status === 'COMPLETED'));
  const perInstance = await openstackJson<Array<Record<string, unknown>>>(DEMO, REGION, ['database', 'backup', 'list', 'instance', 'bk1']);
  t.deepEqual(
    perInstance.map((x) => x.Name),
    ['cli-nightly'],
  );

  const restored = await openstackJson<Record<string, unknown>>(DEMO, REGION, [
    'database',
    'instance',
    'create',
    'bk1-copy',
    '--flavor',
    'ds512M',
    '--size',
    '1',
    '--backup',
    'cli-nightly',
  ]);
  const copy = await waitForInstance(http, String(restored.id), (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  t.is(copy!.status, 'ACTIVE', JSON.stringify(copy));
  t.is(sql(ipOf(copy), 'SELECT v FROM t'), 'from the backup');

  const st = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'backup', 'strategy', 'create', '--swift-container', 'team_backups']);
  t.is(st.swift_container, 'team_backups');
  const strategies = await openstackJson<Array<Record<string, unknown>>>(DEMO, REGION, ['database', 'backup', 'strategy', 'list']);
  t.true(
    strategies.some((s) => s['Swift Container'] === 'team_backups' || s.swift_container === 'team_backups'),
    JSON.stringify(strategies),
  );
  t.is((await cli('database', 'backup', 'strategy', 'delete')).code, 0);

  const del = await cli('database', 'backup', 'delete', 'cli-nightly');
  t.is(del.code, 0, del.stderr);
  await waitForBackup(http, String(b.id), (_b, status) => status === 404, 30_000);
  t.not((await cli('database', 'backup', 'show', String(b.id))).code, 0);
});

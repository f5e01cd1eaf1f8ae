// The real `openstack database instance ...` CLI through Keystone against the whole control plane
// (API, RabbitMQ, taskmanager, conductor) with the local compute driver: create → list/show
// ACTIVE → a real mysql connection → restart → resize flavor and volume → delete.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { DEMO, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { openstack, openstackJson } from '../helpers/openstack-cli.js';
import axios from 'axios';
import { registerDatastore } from '../helpers/datastores.js';

const REGION = 'trove-ts-test-instances';
let cp: ControlPlane;
let demoToken: string;
let demoProject: string;

test.before(async () => {
  cp = await startControlPlane({ config: keystoneConfig() });
  await registerDatastore(cp.tdb.db);
  const ks = await keystoneAdmin();
  await ks.endpoint('database', 'trove-ts', `${cp.api.url}/v1.0/$(tenant_id)s`, REGION);
  const tok = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  demoToken = tok.token;
  demoProject = tok.projectId;
});
test.after.always(() => cp?.stop());

const cli = (...args: string[]) => openstack(DEMO, REGION, args);
const http = () => axios.create({ baseURL: `${cp.api.url}/v1.0/${demoProject}`, headers: { 'X-Auth-Token': demoToken }, validateStatus: () => true });

test.serial('instance create / list / show / restart / resize / delete with the real CLI', async (t) => {
  const flavors = await openstackJson<Array<{ Name: string; RAM: number }>>(DEMO, REGION, ['database', 'flavor', 'list']);
  t.true(flavors.some((f) => f.Name === 'ds512M' && f.RAM === 512));

  const created = await openstackJson<Record<string, unknown>>(DEMO, REGION, [
    'database',
    'instance',
    'create',
    'cli1',
    '--flavor',
    'ds512M',
    '--size',
    '1',
    '--datastore',
    'mariadb',
    '--datastore-version',
    '10.11',
    '--databases',
    'shop',
    '--users',
    'app:Cli-Pass-123',
  ]);
  t.is(created.name, 'cli1');
  t.is(created.status, 'BUILD');
  const id = String(created.id);

  await waitForInstance(http(), id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  const list = await openstackJson<Array<Record<string, unknown>>>(DEMO, REGION, ['database', 'instance', 'list']);
  const row = list.find((i) => i.ID === id);
  t.is(row?.Name, 'cli1');
  t.is(row?.Status, 'ACTIVE');
  t.is(row?.Datastore, 'mariadb');
  const show = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'instance', 'show', 'cli1']);
  t.is(show.status, 'ACTIVE');
  t.is(show.operating_status, 'HEALTHY');
  t.is(show.datastore_version, '10.11');
  t.is(show.volume, 1);
  const ip = String(show.ip ?? show.addresses).match(/127\.0\.\d+\.\d+/)![0];
  const out = execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pCli-Pass-123', 'shop', '-N', '-e', 'SELECT 40 + 2']).toString().trim();
  t.is(out, '42');

  const restart = await cli('database', 'instance', 'restart', id);
  t.is(restart.code, 0, restart.stderr);
  await waitForInstance(http(), id, (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY');

  const rf = await cli('database', 'instance', 'resize', 'flavor', id, 'ds1G');
  t.is(rf.code, 0, rf.stderr);
  const bigger = await waitForInstance(
    http(),
    id,
    (i) => i?.status === 'ACTIVE' && (i?.flavor as { id: string }).id === '2' && i?.operating_status === 'HEALTHY',
  );
  t.is((bigger!.flavor as { id: string }).id, '2');

  const rv = await cli('database', 'instance', 'resize', 'volume', id, '2');
  t.is(rv.code, 0, rv.stderr);
  await waitForInstance(http(), id, (i) => i?.status === 'ACTIVE' && (i?.volume as { size: number }).size === 2);

  const same = await cli('database', 'instance', 'resize', 'volume', id, '1');
  t.not(same.code, 0);
  t.regex(same.stderr, /must be larger/);

  const del = await cli('database', 'instance', 'delete', id);
  t.is(del.code, 0, del.stderr);
  await waitForInstance(http(), id, (_i, s) => s === 404, 120_000);
  const after = await cli('database', 'instance', 'show', id);
  t.not(after.code, 0);
});

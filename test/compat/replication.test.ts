// The real `openstack database instance create --replica-of` / `promote` / `detach` CLI through
// Keystone: a MariaDB source and its replica (rows replicated), the show output's replica_of /
// replicas, the source's delete refused (Trove's 403), a switchover, detach of the old source.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import axios, { type AxiosInstance } from 'axios';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { DEMO, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { openstack, openstackJson } from '../helpers/openstack-cli.js';
import { registerDatastore } from '../helpers/datastores.js';

const REGION = 'trove-ts-test-replication';
let cp: ControlPlane;
let http: AxiosInstance;

test.before(async () => {
  cp = await startControlPlane({ config: { ...keystoneConfig(), mariadb: { replication_strategy: 'MariaDBGTIDReplication' } } });
  await registerDatastore(cp.tdb.db);
  const ks = await keystoneAdmin();
  await ks.endpoint('database', 'trove-ts', `${cp.api.url}/v1.0/$(tenant_id)s`, REGION);
  const tok = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  http = axios.create({ baseURL: `${cp.api.url}/v1.0/${tok.projectId}`, headers: { 'X-Auth-Token': tok.token }, validateStatus: () => true });
});
test.after.always(() => cp?.stop());

const cli = (...args: string[]) => openstack(DEMO, REGION, args);
const sql = (ip: string, query: string) =>
  execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pCli-Repl-1', 'shop', '-N', '-e', query], { stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();
const ipOf = (i: Record<string, unknown> | undefined) => String((i!.ip as string[])[0]);
const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';

test.serial('instance create --replica-of, show, delete of the source refused, instance promote, instance detach', async (t) => {
  const created = await openstackJson<Record<string, unknown>>(DEMO, REGION, [
    'database',
    'instance',
    'create',
    'rsrc',
    '--flavor',
    'ds512M',
    '--size',
    '1',
    '--datastore',
    'mariadb',
    '--databases',
    'shop',
    '--users',
    'app:Cli-Repl-1',
  ]);
  const src = await waitForInstance(http, String(created.id), ready);
  t.is(src!.status, 'ACTIVE');
  sql(ipOf(src), 'CREATE TABLE t (v TEXT); INSERT INTO t VALUES ("replicated")');

  const rep = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'instance', 'create', 'rcopy', '--replica-of', 'rsrc']);
  t.is(rep.replica_of, created.id);
  t.is(rep.status, 'BUILD');
  const copy = await waitForInstance(http, String(rep.id), ready, 300_000);
  t.is(copy!.status, 'ACTIVE', JSON.stringify(copy));
  t.is(sql(ipOf(copy), 'SELECT v FROM t'), 'replicated');

  const shownSrc = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'instance', 'show', 'rsrc']);
  t.is(shownSrc.replicas, rep.id);
  const list = await openstackJson<Array<Record<string, unknown>>>(DEMO, REGION, ['database', 'instance', 'list']);
  t.is(list.find((x) => x.ID === rep.id)?.Role, 'replica', JSON.stringify(list));

  const del = await cli('database', 'instance', 'delete', 'rsrc');
  t.not(del.code, 0);
  t.regex(del.stderr, /Unable to delete the specified database instance/); // the CLI hides the 403's message
  t.is((await http.get(`/instances/${created.id}`)).data.instance.status, 'ACTIVE');

  // switchover: rcopy becomes the source, rsrc its replica
  const promote = await cli('database', 'instance', 'promote', 'rcopy');
  t.is(promote.code, 0, promote.stderr);
  const swapped = await waitForInstance(
    http,
    String(created.id),
    (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY' && 'replica_of' in i) || i?.status === 'ERROR',
    180_000,
  );
  t.is((swapped!.replica_of as { id: string } | undefined)?.id, String(rep.id), JSON.stringify(swapped));
  const newSource = await waitForInstance(http, String(rep.id), ready, 60_000);
  t.false('replica_of' in newSource!);
  sql(ipOf(newSource), 'INSERT INTO t VALUES ("after the switch")');
  const shownOld = await openstackJson<Record<string, unknown>>(DEMO, REGION, ['database', 'instance', 'show', 'rsrc']);
  t.is(shownOld.replica_of, rep.id);

  // detach the old source, now a replica: writable and independent
  const detach = await cli('database', 'instance', 'detach', 'rsrc');
  t.is(detach.code, 0, detach.stderr);
  const done = await waitForInstance(http, String(created.id), (i) => (i?.status === 'ACTIVE' && !('replica_of' in i)) || i?.status === 'ERROR', 120_000);
  t.is(done!.status, 'ACTIVE', JSON.stringify(done));
  t.is(sql(ipOf(done), 'SELECT COUNT(*) FROM t'), '2', 'it had replicated the row written after the switch');
  sql(ipOf(done), 'INSERT INTO t VALUES ("mine now")');
  t.is(sql(ipOf(done), 'SELECT COUNT(*) FROM t'), '3');
  t.is(sql(ipOf(newSource), 'SELECT COUNT(*) FROM t'), '2');
  t.is((await cli('database', 'instance', 'delete', 'rcopy')).code, 0);
});

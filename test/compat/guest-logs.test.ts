// The real `openstack database log ...` CLI (python-troveclient) through Keystone against the
// whole control plane, on an instance whose guest runs a real mariadbd: list, show, set --enable,
// a query, set --publish (into the all-in-one object store, read back from its directory), set
// --disable / --discard. `log tail` and `log save` read Swift directly with the user's password
// (swiftclient, the catalog's object-store in the region): this tier's store is local and its
// region has no object-store, so swiftclient fails and the CLI prints its own AttributeError
// ("'ClientException' object has no attribute 'message'") and saves nothing.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { ObjectDirectory } from '../../src/common/object-directory.js';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { DEMO, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { openstack, openstackJson } from '../helpers/openstack-cli.js';

const REGION = 'trove-ts-test-logs';
let cp: ControlPlane;
let id: string;
let ip: string;

test.before(async () => {
  cp = await startControlPlane({ config: keystoneConfig() });
  await registerDatastore(cp.tdb.db);
  const ks = await keystoneAdmin();
  await ks.endpoint('database', 'trove-ts', `${cp.api.url}/v1.0/$(tenant_id)s`, REGION);
  const tok = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  const created = await openstackJson<Record<string, unknown>>(DEMO, REGION, [
    'database',
    'instance',
    'create',
    'logs1',
    '--flavor',
    'ds512M',
    '--size',
    '1',
    '--datastore',
    'mariadb',
    '--databases',
    'shop',
    '--users',
    'app:App-pass-1',
  ]);
  id = String(created.id);
  const http = axios.create({ baseURL: `${cp.api.url}/v1.0/${tok.projectId}`, headers: { 'X-Auth-Token': tok.token }, validateStatus: () => true });
  const active = await waitForInstance(http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  ip = String((active!.ip as string[])[0]);
});
test.after.always(() => cp?.stop());

const cli = (...args: string[]) => openstack(DEMO, REGION, args);
const json = <T>(...args: string[]) => openstackJson<T>(DEMO, REGION, args);

test.serial('log list: the USER logs a project member sees (the SYS error log is for administrators)', async (t) => {
  const logs = await json<Array<Record<string, unknown>>>('database', 'log', 'list', 'logs1');
  t.deepEqual(
    logs.map((l) => [l.Name, l.Type, l.Status, l.Published, l.Pending, l.Container, l.Prefix]),
    [
      ['general', 'USER', 'Disabled', 0, 0, 'None', 'None'],
      ['slow_query', 'USER', 'Disabled', 0, 0, 'None', 'None'],
    ],
  );
  const show = await json<Record<string, unknown>>('database', 'log', 'show', 'logs1', 'general');
  t.like(show, { name: 'general', type: 'USER', status: 'Disabled', metafile: `${id}/mariadb-general_metafile` });
  const sys = await cli('database', 'log', 'show', 'logs1', 'error');
  t.not(sys.code, 0);
  t.regex(sys.stderr, /admin.*\(HTTP 403\)/);
  const unknown = await cli('database', 'log', 'show', 'logs1', 'audit');
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /not defined.*\(HTTP 404\)/);
});

test.serial('log set --enable, a query, log set --publish: the published object holds it; --disable, --discard', async (t) => {
  const en = await json<Record<string, unknown>>('database', 'log', 'set', 'logs1', 'general', '--enable');
  t.is(en.name, 'general');
  t.not(en.status, 'Disabled');
  execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pApp-pass-1', 'shop', '-N', '-e', "SELECT 'cli-needle-2718'"], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pub = await json<Record<string, unknown>>('database', 'log', 'set', 'logs1', 'general', '--publish');
  t.like(pub, { status: 'Published', container: 'database_logs', prefix: `${id}/mariadb-general/` });
  t.true(Number(pub.published) > 0);
  const store = new ObjectDirectory(path.join(cp.stateDir, 'objects'));
  let text = '';
  for (const o of await store.listObjects('database_logs', `${id}/mariadb-general/`))
    for await (const c of await store.getObject('database_logs', o.name)) text += (c as Buffer).toString();
  t.regex(text, /SELECT 'cli-needle-2718'/);
  const listed = await json<Array<Record<string, unknown>>>('database', 'log', 'list', 'logs1');
  // the agent's own connections (its health checks) still add Connect/Quit lines: Published, or Partial a moment later
  t.like(listed[0], { Name: 'general', Container: 'database_logs', Published: pub.published });
  t.true(['Published', 'Partial'].includes(String(listed[0]!.Status)));

  const both = await cli('database', 'log', 'set', 'logs1', 'general', '--enable', '--disable');
  t.not(both.code, 0);
  t.regex(both.stderr, /HTTP 400/);
  t.is((await json<Record<string, unknown>>('database', 'log', 'set', 'logs1', 'general', '--disable')).status, 'Disabled');
  const gone = await json<Record<string, unknown>>('database', 'log', 'set', 'logs1', 'general', '--discard');
  t.like(gone, { published: 0, container: 'None' });
  t.deepEqual(await store.listObjects('database_logs', `${id}/mariadb-general/`), []);
});

test.serial('log tail / log save read Swift directly: with no object-store in the region they print the error and save nothing', async (t) => {
  await json('database', 'log', 'set', 'logs1', 'general', '--publish');
  const tail = await cli('database', 'log', 'tail', 'logs1', 'general', '--lines', '5');
  t.log(`log tail: exit ${tail.code}, ${JSON.stringify((tail.stdout + tail.stderr).trim().split('\n')[0])}`);
  t.notRegex(tail.stdout, /cli-needle-2718/);
  // swiftclient finds no object-store endpoint; the CLI's own handler then fails on ex.message (Python 3) and prints that
  t.regex(tail.stdout + tail.stderr, /ClientException/);
  const dir = mkdtempSync(path.join(tmpdir(), 'log-save-'));
  try {
    const file = path.join(dir, 'general.log');
    const save = await cli('database', 'log', 'save', 'logs1', 'general', '--file', file);
    t.log(`log save: exit ${save.code}, ${JSON.stringify((save.stdout + save.stderr).trim().split('\n')[0])}`);
    t.false(existsSync(file) && /cli-needle/.test(String(execFileSync('cat', [file]))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

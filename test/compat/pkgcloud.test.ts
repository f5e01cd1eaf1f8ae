// pkgcloud's OpenStack database provider (what Node programs drive Trove with) as a second real
// client: it authenticates with Keystone v3, finds trove-ts as the `database` service of the
// test's region in the catalog, and drives flavors, instances, databases, users and root against
// the whole control plane, whose guest runs a real mariadbd; the engine is checked with a real
// client.
import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import pkgcloud from 'pkgcloud';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.js';
import { DEMO, KEYSTONE_URL, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { registerDatastore } from '../helpers/datastores.js';

const REGION = 'trove-ts-test-pkgcloud';
// pkgcloud appends /v3/auth/tokens to authUrl itself.
const AUTH_URL = KEYSTONE_URL.replace(/\/v3\/?$/, '');
const options: pkgcloud.DatabaseClientOptions = {
  provider: 'openstack',
  username: DEMO.name,
  password: DEMO.password,
  authUrl: AUTH_URL,
  region: REGION,
  keystoneAuthVersion: 'v3',
  domainName: 'Default',
  tenantName: DEMO.project,
  projectDomainName: 'Default',
};

let cp: ControlPlane;
let client: pkgcloud.DatabaseClient;
let projectId: string;
let instance: pkgcloud.Instance;
let ip: string;

/** A pkgcloud call with a node-style callback as a promise of the callback's results. */
function pk<R extends unknown[]>(fn: (cb: (err: unknown, ...r: R) => void) => void): Promise<R> {
  return new Promise((resolve, reject) => fn((err, ...r) => (err ? reject(err) : resolve(r))));
}

/** getInstance until `done`, with pkgcloud's own status mapping. */
async function pollInstance(done: (i: pkgcloud.Instance) => boolean, timeoutMs = 180_000): Promise<pkgcloud.Instance> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [i] = await pk<[pkgcloud.Instance]>((cb) => client.getInstance(instance.id, cb));
    if (done(i) || i.original.status === 'ERROR') return i;
    if (Date.now() > deadline) throw new Error(`instance ${instance.id} did not get there in time; last: ${JSON.stringify(i.original)}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}
/** The error a refused call ends with: pkgcloud's own object (status, failCode, the fault body as `result`). */
async function refusal(t: ExecutionContext, p: Promise<unknown>): Promise<pkgcloud.ClientError> {
  return (await t.throwsAsync(p, { any: true })) as unknown as pkgcloud.ClientError;
}
const ready = (i: pkgcloud.Instance) => i.status === 'RUNNING' && i.original.operating_status === 'HEALTHY';

const sql = (user: string, password: string, db: string, query: string) =>
  execFileSync('mariadb', ['-h', ip, '-u', user, `-p${password}`, db, '-N', '-e', query], { stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();

test.before(async () => {
  // pkgcloud's createInstance sends no `datastore`: like Trove, the deployment's default_datastore decides
  cp = await startControlPlane({ config: { ...keystoneConfig(), DEFAULT: { default_datastore: 'mariadb' } } });
  await registerDatastore(cp.tdb.db);
  const ks = await keystoneAdmin();
  // pkgcloud takes the last public endpoint of the region from the catalog, and throws if any
  // other service of type `database` lacks one there: the lab has one such service, trove-ts
  await ks.endpoint('database', 'trove-ts', `${cp.api.url}/v1.0/$(tenant_id)s`, REGION);
  projectId = (await ks.token(DEMO.name, DEMO.password, DEMO.project)).projectId;
  client = pkgcloud.database.createClient(options);
});
test.after.always(async () => {
  await cp?.stop();
});

test.serial('Keystone v3: a project name without projectDomainName is refused by Keystone itself (400)', async (t) => {
  const { projectDomainName: _, ...rest } = options;
  const bare = pkgcloud.database.createClient(rest);
  const e = await refusal(
    t,
    pk<[]>((cb) => bare.auth(cb)),
  );
  t.is(e.statusCode, 400);
  t.is(e.href, `${AUTH_URL}/v3/auth/tokens`);
  t.regex(JSON.stringify(e.result), /Expecting to find domain in project/);
});

test.serial('auth: the v3 token, and the database endpoint of the region with the project substituted', async (t) => {
  await pk<[]>((cb) => client.auth(cb));
  t.is(client._serviceUrl, `${cp.api.url}/v1.0/${projectId}`);
  const [versions] = await pk<[Array<{ id: string; status: string }>]>((cb) => client.getVersion(cb));
  t.deepEqual(
    versions.map((v) => [v.id, v.status]),
    [['v1.0', 'CURRENT']],
  );
});

test.serial('getFlavors / getFlavor', async (t) => {
  const [flavors] = await pk<[pkgcloud.Flavor[]]>((cb) => client.getFlavors(cb));
  const byName = new Map(flavors.map((f) => [f.name, f]));
  t.is(byName.get('ds512M')?.ram, 512);
  t.is(byName.get('ds1G')?.ram, 1024);
  // Trove writes its links with https whatever the request came on; createInstance sends this href
  // as flavorRef, and only its last segment counts
  t.is(byName.get('ds512M')?.href, `${cp.api.url.replace(/^http:/, 'https:')}/v1.0/${projectId}/flavors/1`);
  const [one] = await pk<[pkgcloud.Flavor]>((cb) => client.getFlavor(2, cb));
  t.is(one.name, 'ds1G');
  t.is(one.ram, 1024);
});

test.serial('createInstance (flavor href, size, databases) → PROVISIONING → RUNNING; getInstances lists it', async (t) => {
  const [flavors] = await pk<[pkgcloud.Flavor[]]>((cb) => client.getFlavors(cb));
  const small = flavors.find((f) => f.name === 'ds512M')!;
  const noFlavor = await refusal(
    t,
    pk((cb) => client.createInstance({ name: 'pkg0', flavor: '99', size: 1 }, cb)),
  );
  t.is(noFlavor.statusCode, 400);
  t.regex(JSON.stringify(noFlavor.result), /Resource 99 cannot be found/);
  const unknown = await refusal(
    t,
    pk((cb) => client.getInstance(randomUUID(), cb)),
  );
  t.is(unknown.statusCode, 404);
  t.is(unknown.failCode, 'Item not found');

  [instance] = await pk<[pkgcloud.Instance]>((cb) => client.createInstance({ name: 'pkg1', flavor: small, size: 1, databases: ['shop'] }, cb));
  t.is(instance.name, 'pkg1');
  t.regex(instance.id, /^[0-9a-f-]{36}$/);
  t.is(instance.original.status, 'BUILD');
  t.is(instance.status, 'PROVISIONING');
  t.deepEqual(instance.volume, { size: 1 });

  const active = await pollInstance(ready);
  t.is(active.original.status, 'ACTIVE', JSON.stringify(active.original));
  t.is(active.status, 'RUNNING');
  t.is(active.flavor.id, '1');
  t.is(active.volume?.size, 1);
  t.deepEqual(active.original.datastore, { type: 'mariadb', version: '10.11', version_number: '10.11' });
  ip = String((active.original.ip as string[])[0]);
  t.regex(ip, /^127\./);

  const [all, marker] = await pk<[pkgcloud.Instance[], string | null]>((cb) => client.getInstances({}, cb));
  t.deepEqual(
    all.map((i) => [i.id, i.name, i.status]),
    [[instance.id, 'pkg1', 'RUNNING']],
  );
  t.is(marker, null);
});

test.serial('createDatabase / getDatabases (paged with limit and marker) / destroyDatabase', async (t) => {
  await pk((cb) => client.createDatabase({ instance: instance.id, name: 'logs' }, cb));
  await pk((cb) => client.createDatabase({ instance, name: 'legacy', character_set: 'latin1', collate: 'latin1_swedish_ci' }, cb));
  const [dbs, marker] = await pk<[pkgcloud.Database[], string | null]>((cb) => client.getDatabases({ instance }, cb));
  t.deepEqual(
    dbs.map((d) => d.name),
    ['legacy', 'logs', 'shop'],
  );
  t.is(marker, null);

  const [page1, next] = await pk<[pkgcloud.Database[], string | null]>((cb) => client.getDatabases({ instance, limit: 2 }, cb));
  t.deepEqual(
    page1.map((d) => d.name),
    ['legacy', 'logs'],
  );
  t.is(next, 'logs');
  const [page2, end] = await pk<[pkgcloud.Database[], string | null]>((cb) => client.getDatabases({ instance, limit: 2, offset: next! }, cb));
  t.deepEqual(
    page2.map((d) => d.name),
    ['shop'],
  );
  t.is(end, null);

  // Trove's refusal comes through as pkgcloud's error with the fault body
  const dup = await refusal(
    t,
    pk((cb) => client.createDatabase({ instance, name: 'shop' }, cb)),
  );
  t.is(dup.statusCode, 400);
  t.regex(JSON.stringify(dup.result), /badRequest.*already exists/);

  await pk((cb) => client.destroyDatabase('legacy', instance, cb));
  const [after] = await pk<[pkgcloud.Database[], string | null]>((cb) => client.getDatabases({ instance }, cb));
  t.deepEqual(
    after.map((d) => d.name),
    ['logs', 'shop'],
  );
});

test.serial('createUser (one, then an array) / getUsers / destroyUser; the users log in to mariadbd', async (t) => {
  await pk((cb) => client.createUser({ instance, username: 'app', password: 'App-pass-1', database: 'shop' }, cb));
  t.is(sql('app', 'App-pass-1', 'shop', 'SELECT DATABASE()'), 'shop');
  // the database createInstance asked for, with pkgcloud's default character set (utf8 is utf8mb3 on MariaDB)
  t.is(
    sql(
      'app',
      'App-pass-1',
      'shop',
      "SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop'",
    ),
    'utf8mb3 utf8mb3_general_ci',
  );

  await pk((cb) =>
    client.createUser(
      [
        { instance, username: 'reporter', password: 'Rep-pass-1', databases: ['shop', 'logs'] },
        { instance, username: 'logger', password: 'Log-pass-1', database: 'logs' },
      ],
      cb,
    ),
  );
  const [users] = await pk<[pkgcloud.User[], string | null]>((cb) => client.getUsers({ instance }, cb));
  t.deepEqual(
    users.map((u) => u.name),
    ['app', 'logger', 'reporter'],
  );
  t.is(sql('reporter', 'Rep-pass-1', 'logs', 'SELECT CURRENT_USER()'), 'reporter@%');
  t.is(sql('logger', 'Log-pass-1', 'logs', 'SELECT 1'), '1');
  t.throws(() => sql('logger', 'Log-pass-1', 'shop', 'SELECT 1'));

  await pk((cb) => client.destroyUser(instance, 'logger', cb));
  await pk((cb) =>
    client.destroyUser(
      instance.id,
      users.find((u) => u.name === 'reporter')!,
      cb,
    ),
  );
  const [left] = await pk<[pkgcloud.User[], string | null]>((cb) => client.getUsers({ instance }, cb));
  t.deepEqual(
    left.map((u) => u.name),
    ['app'],
  );
  t.throws(() => sql('logger', 'Log-pass-1', 'logs', 'SELECT 1'));
});

test.serial('rootEnabled / enableRoot / enableRootUser / listRootStatus: the password logs in as root', async (t) => {
  const [before] = await pk<[boolean, pkgcloud.Response]>((cb) => client.rootEnabled(instance, cb));
  t.false(before);
  const [root] = await pk<[pkgcloud.User, pkgcloud.Response]>((cb) => client.enableRoot(instance, cb));
  t.is(root.name, 'root');
  t.true(root.password!.length >= 16);
  t.is(sql('root', root.password!, 'mysql', 'SELECT CURRENT_USER()'), 'root@%');
  const [after] = await pk<[boolean, pkgcloud.Response]>((cb) => client.rootEnabled(instance, cb));
  t.true(after);

  // the older pair in instances.js: the raw bodies
  const [again] = await pk<[{ user: { name: string; password: string } }]>((cb) => client.enableRootUser(instance, cb));
  t.is(again.user.name, 'root');
  t.not(again.user.password, root.password);
  t.is(sql('root', again.user.password, 'mysql', 'SELECT 1'), '1');
  t.throws(() => sql('root', root.password!, 'mysql', 'SELECT 1'));
  const [status] = await pk<[{ rootEnabled: boolean }]>((cb) => client.listRootStatus(instance, cb));
  t.deepEqual(status, { rootEnabled: true });
});

test.serial('restartInstance: 202, back to RUNNING with mariadbd restarted', async (t) => {
  const uptime = () => Number(sql('app', 'App-pass-1', 'shop', "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'"));
  await new Promise((res) => setTimeout(res, 3000));
  const before = uptime();
  t.true(before >= 3);
  await pk<[]>((cb) => client.restartInstance(instance, cb));
  const [during] = await pk<[pkgcloud.Instance]>((cb) => client.getInstance(instance, cb));
  t.is(during.original.status, 'REBOOT');
  t.is(during.status, 'PROVISIONING');
  const back = await pollInstance(ready);
  t.is(back.status, 'RUNNING');
  t.true(uptime() < before);
});

test.serial('setFlavor (flavorRef href) and setVolumeSize: RESIZE → RUNNING, mariadbd sized from the new flavor', async (t) => {
  const pool = () => Number(sql('app', 'App-pass-1', 'shop', 'SELECT @@innodb_buffer_pool_size')) / 1024 / 1024;
  t.is(pool(), 256);
  const [flavors] = await pk<[pkgcloud.Flavor[]]>((cb) => client.getFlavors(cb));
  await pk<[]>((cb) =>
    client.setFlavor(
      instance,
      flavors.find((f) => f.name === 'ds1G')!,
      cb,
    ),
  );
  const [during] = await pk<[pkgcloud.Instance]>((cb) => client.getInstance(instance, cb));
  t.is(during.original.status, 'RESIZE');
  t.is(during.status, 'PROVISIONING');
  const bigger = await pollInstance((i) => ready(i) && i.flavor.id === '2');
  t.is(bigger.flavor.id, '2');
  t.is(pool(), 512);

  await pk<[]>((cb) => client.setVolumeSize(instance, 2, cb));
  const grown = await pollInstance((i) => ready(i) && i.volume?.size === 2);
  t.is(grown.volume?.size, 2);
  const smaller = await refusal(
    t,
    pk<[]>((cb) => client.setVolumeSize(instance, 1, cb)),
  );
  t.is(smaller.statusCode, 400);
  t.regex(JSON.stringify(smaller.result), /must be larger/);
});

test.serial('destroyInstance: 202, then getInstance is a 404 and getInstances is empty', async (t) => {
  const [res] = await pk<[pkgcloud.Response]>((cb) => client.destroyInstance(instance, cb));
  t.is(res.statusCode, 202);
  const deadline = Date.now() + 60_000;
  let status = 0;
  while (Date.now() < deadline) {
    status = await pk<[pkgcloud.Instance]>((cb) => client.getInstance(instance.id, cb)).then(
      () => 200,
      (e: pkgcloud.ClientError) => e.statusCode,
    );
    if (status === 404) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  t.is(status, 404);
  const [all] = await pk<[pkgcloud.Instance[], string | null]>((cb) => client.getInstances({}, cb));
  t.deepEqual(all, []);
  t.throws(() => sql('app', 'App-pass-1', 'shop', 'SELECT 1'));
});

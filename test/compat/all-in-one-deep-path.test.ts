// Issue 11: the all-in-one (npm start) on a state directory more than 150 characters deep, driven
// by the real `openstack` CLI with the admin token. No engine, agent or bus socket may depend on
// that depth (the kernel refuses a unix socket path over 107 bytes): MariaDB create, full and
// incremental backup, an instance restored from the incremental one (both rows there), a replica
// (the rows there); PostgreSQL and Redis create, backup, restore (the row / key there). The three
// engines run side by side; everything started is reaped even when a test fails.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/api-process.js';
import { cli, cliJson, ipOf, reapAio, startAio, waitBackup, waitShow, type Aio } from '../helpers/all-in-one.js';

const top = mkdtempSync(path.join(tmpdir(), 'aio-deep-'));
const state = path.join(top, ...Array.from({ length: 4 }, (_, i) => `a-state-directory-nested-well-below-its-clone-${i}`), 'all-in-one');
let aio: Aio | undefined;

test.before(async () => {
  mkdirSync(state, { recursive: true });
  for (let d = state; d.startsWith(top); d = path.dirname(d)) chmodSync(d, 0o755);
  aio = await startAio(state, await freePort());
});

test.after.always(async () => {
  await reapAio(aio, state);
  rmSync(top, { recursive: true, force: true });
});

const ready = (s: Record<string, string>) => (s.status === 'ACTIVE' && s.operating_status === 'HEALTHY') || s.status === 'ERROR';

/** Creates an instance with the CLI and waits for it: ACTIVE and HEALTHY, or the test fails with its fault. */
async function create(t: { is(a: unknown, b: unknown, m?: string): void }, name: string, ...args: string[]): Promise<{ id: string; ip: string }> {
  await cliJson(aio!, 'database', 'instance', 'create', name, ...args);
  const shown = await waitShow(aio!, name, ready, 240_000);
  t.is(shown.status, 'ACTIVE', `${name}: ${JSON.stringify(shown)}`);
  return { id: shown.id!, ip: ipOf(shown) };
}

async function backup(t: { is(a: unknown, b: unknown, m?: string): void }, name: string, ...args: string[]): Promise<void> {
  await cliJson(aio!, 'database', 'backup', 'create', name, ...args);
  const b = await waitBackup(aio!, name);
  t.is(b.status, 'COMPLETED', `${name}: ${JSON.stringify(b)}`);
}

/** The instance's runtime directory, as its agent recorded it: short, whatever the depth of the state directory. */
function runtimeDirOf(id: string): string {
  return readFileSync(path.join(state, 'local', 'servers', id, 'agent', 'runtime-dir'), 'utf8').trim();
}

const mariadb = (ip: string, sql: string) =>
  execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pDeep-Path-Pw-1', 'shop', '-N', '-e', sql], { stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();
const psql = (ip: string, sql: string) =>
  execFileSync('psql', ['-h', ip, '-U', 'app', '-d', 'shop', '-tA', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { PATH: '/usr/bin:/bin', PGPASSWORD: 'Deep-Path-Pw-1', PGCONNECT_TIMEOUT: '5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString()
    .trim();
const redis = (ip: string, password: string, ...args: string[]) =>
  execFileSync('redis-cli', ['-h', ip, '-p', '6379', '--no-raw', ...args], {
    env: { PATH: '/usr/bin:/bin', REDISCLI_AUTH: password },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString()
    .trim();

test('the state directory is deeper than 150 characters and the service is up on it with every engine', async (t) => {
  t.true(state.length > 150, `${state.length}`);
  const ds = await cliJson<Array<{ Name: string }>>(aio!, 'datastore', 'list');
  t.deepEqual(
    ['mariadb', 'postgresql', 'redis'].filter((n) => ds.some((d) => d.Name === n)),
    ['mariadb', 'postgresql', 'redis'],
  );
  t.false(existsSync(path.join(state, 'bus.sock')), 'no socket (nor a link to one) at a path too long to connect to');
});

test('mariadb: create, full and incremental backup, restore from the incremental one, replica', async (t) => {
  const m1 = await create(t, 'deep-m1', '--flavor', 'ds512M', '--size', '1', '--datastore', 'mariadb', '--databases', 'shop', '--users', 'app:Deep-Path-Pw-1');
  t.true(Buffer.byteLength(path.join(runtimeDirOf(m1.id), 'restore-run', 'mysqld.sock')) <= 107);
  mariadb(m1.ip, "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('full')");
  await backup(t, 'deep-m1-full', '-i', 'deep-m1');
  mariadb(m1.ip, "INSERT INTO t VALUES ('incremental')");
  const full = await cliJson<Record<string, string>>(aio!, 'database', 'backup', 'show', 'deep-m1-full');
  await backup(t, 'deep-m1-inc', '-i', 'deep-m1', '--parent', full.id!);
  const inc = await cliJson<Record<string, string>>(aio!, 'database', 'backup', 'show', 'deep-m1-inc');
  t.is(inc.parent_id, full.id, 'an incremental backup on the full one');

  const [m2, replica] = await Promise.all([
    create(t, 'deep-m2', '--flavor', 'ds512M', '--size', '1', '--backup', 'deep-m1-inc'),
    create(t, 'deep-m1-replica', '--replica-of', 'deep-m1'),
  ]);
  t.is(mariadb(m2.ip, 'SELECT v FROM t ORDER BY v'), 'full\nincremental', 'the restored instance has the rows of both backups');
  mariadb(m1.ip, "INSERT INTO t VALUES ('replicated')");
  let seen = '';
  for (const end = Date.now() + 30_000; !seen.includes('replicated') && Date.now() < end; await new Promise((r) => setTimeout(r, 500)))
    seen = mariadb(replica.ip, 'SELECT v FROM t ORDER BY v');
  t.is(seen, 'full\nincremental\nreplicated', "the replica has the source's rows and follows it");
});

test('postgresql: create, backup, restore', async (t) => {
  const p1 = await create(
    t,
    'deep-p1',
    '--flavor',
    'ds512M',
    '--size',
    '1',
    '--datastore',
    'postgresql',
    '--databases',
    'shop',
    '--users',
    'app:Deep-Path-Pw-1',
  );
  psql(p1.ip, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')");
  t.is(psql(p1.ip, 'SELECT v FROM t'), 'kept');
  await backup(t, 'deep-p1-backup', '-i', 'deep-p1');
  const p2 = await create(t, 'deep-p2', '--flavor', 'ds512M', '--size', '1', '--backup', 'deep-p1-backup');
  t.is(psql(p2.ip, 'SELECT v FROM t'), 'kept');
});

test('redis: create, backup, restore; deleting an instance removes its runtime directory', async (t) => {
  const r1 = await create(t, 'deep-r1', '--flavor', 'ds512M', '--size', '1', '--datastore', 'redis');
  const pw1 = (await cliJson<Record<string, string>>(aio!, 'database', 'root', 'enable', 'deep-r1')).password!;
  t.is(redis(r1.ip, pw1, 'SET', 'greeting', 'kept'), 'OK');
  await backup(t, 'deep-r1-backup', '-i', 'deep-r1');
  const r2 = await create(t, 'deep-r2', '--flavor', 'ds512M', '--size', '1', '--backup', 'deep-r1-backup');
  const pw2 = (await cliJson<Record<string, string>>(aio!, 'database', 'root', 'enable', 'deep-r2')).password!;
  t.is(redis(r2.ip, pw2, 'GET', 'greeting'), '"kept"');

  const rt = runtimeDirOf(r2.id);
  t.true(existsSync(path.join(rt, 'redis', 'redis.sock')), `the socket is in ${rt}`);
  await cli(aio!, 'database', 'instance', 'delete', 'deep-r2');
  for (const end = Date.now() + 60_000; existsSync(rt) && Date.now() < end;) await new Promise((r) => setTimeout(r, 500));
  t.false(existsSync(rt), "the deleted instance's runtime directory is gone");
});

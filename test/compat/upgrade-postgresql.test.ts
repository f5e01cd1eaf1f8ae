// `openstack database instance upgrade` of PostgreSQL across majors, through the real CLI against
// an all-in-one whose guests have Debian bullseye's PostgreSQL 13 beside bookworm's 15
// (tools/lab/engine-versions.sh, named in [postgresql] version_dirs): both registered as versions
// of postgresql; an instance made on 13 with rows upgraded to 15 by pg_upgrade, its rows and user
// kept, a pre-upgrade backup recorded; one pg_upgrade refuses (a reg* column) left ACTIVE on 13
// with pg_upgrade's words in its fault; a replication set refused (422).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cli, cliJson, ipOf, reapAio, startAio, waitShow, type Aio } from '../helpers/all-in-one.js';
import { freePort } from '../helpers/api-process.js';
import { engineBuild } from '../helpers/engine-versions.js';

const old = engineBuild('postgresql');
const oldMajor = old.version.split('.')[0]!;
let aio: Aio | undefined;
let state: string;

test.before(async () => {
  state = mkdtempSync(path.join(tmpdir(), 'aio-pgupgrade-'));
  chmodSync(state, 0o755);
  const guestConf = `${state}.guest.conf`;
  writeFileSync(guestConf, `[postgresql]\nversion_dirs = ${old.dir}\n`);
  const conf = `${state}.aio.conf`;
  writeFileSync(conf, `[local]\nguest_config_file = ${guestConf}\n`);
  aio = await startAio(state, await freePort(), [conf]);
});

test.after.always(async () => {
  await reapAio(aio, state);
  for (const p of [state, `${state}.guest.conf`, `${state}.aio.conf`, `${state}.subnet.conf`]) rmSync(p, { recursive: true, force: true });
});

const ready = (s: Record<string, string>) => (s.status === 'ACTIVE' && s.operating_status === 'HEALTHY') || s.status === 'ERROR';
const psql = (ip: string, q: string) =>
  execFileSync('psql', ['-h', ip, '-U', 'app', '-d', 'shop', '-tA', '-v', 'ON_ERROR_STOP=1', '-c', q], {
    env: { PATH: '/usr/bin:/bin', PGPASSWORD: 'Up-Secret-9', PGCONNECT_TIMEOUT: '5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString()
    .trim();

async function create(name: string, ...extra: string[]): Promise<Record<string, string>> {
  await cli(aio!, 'database', 'instance', 'create', name, ...extra);
  const s = await waitShow(aio!, name, ready, 300_000);
  if (s.status !== 'ACTIVE') throw new Error(`${name}: ${JSON.stringify(s)}`);
  return s;
}

const on13 = [
  '--flavor',
  'ds1G',
  '--size',
  '1',
  '--datastore',
  'postgresql',
  '--datastore-version',
  oldMajor,
  '--databases',
  'shop',
  '--users',
  'app:Up-Secret-9',
];

let newest = '';

test.serial('the side-by-side build is a datastore version of postgresql beside the installed major', async (t) => {
  const versions = await cliJson<Array<{ Name: string }>>(aio!, 'datastore', 'version', 'list', 'postgresql');
  const names = versions.map((v) => v.Name);
  t.true(names.includes(oldMajor), JSON.stringify(names));
  newest = names.filter((n) => n !== oldMajor).sort((a, b) => Number(b) - Number(a))[0]!;
  t.true(Number(newest) > Number(oldMajor), JSON.stringify(names));
});

test.serial(`an instance on PostgreSQL ${oldMajor} upgrades to the installed major through the CLI, every row kept`, async (t) => {
  const started = Date.now();
  const src = await create('pg-up', ...on13);
  const ip = ipOf(src);
  t.regex(psql(ip, 'SHOW server_version'), new RegExp(`^${old.version.replace('.', '\\.')}`));
  psql(ip, 'CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
  psql(ip, "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g");
  const created = Date.now();

  await cli(aio!, 'database', 'instance', 'upgrade', 'pg-up', newest);
  t.is((await cliJson<Record<string, string>>(aio!, 'database', 'instance', 'show', 'pg-up')).status, 'UPGRADE');
  const done = await waitShow(aio!, 'pg-up', (s) => s.status !== 'UPGRADE' && ready(s), 900_000);
  t.is(done.status, 'ACTIVE', JSON.stringify(done));
  t.is(done.datastore_version, newest);
  t.false('fault' in done && Boolean(done.fault), JSON.stringify(done));
  t.true(psql(ip, 'SHOW server_version').startsWith(`${newest}.`));
  t.is(psql(ip, "SELECT count(*) || '/' || sum(id) FROM t"), '1000/500500');
  psql(ip, "INSERT INTO t VALUES (1001, 'after')");
  t.is(psql(ip, 'SELECT count(*) FROM t'), '1001');
  const backups = await cliJson<Array<{ Name: string; Status: string }>>(aio!, 'database', 'backup', 'list');
  t.true(
    backups.some((b) => b.Name === `Pre-upgrade backup of ${src.id}` && b.Status === 'COMPLETED'),
    JSON.stringify(backups),
  );
  t.log(`created in ${Math.round((created - started) / 1000)} s, upgraded (backup + pg_upgrade) in ${Math.round((Date.now() - created) / 1000)} s`);
});

test.serial("a cluster pg_upgrade refuses stays ACTIVE on its major, the fault in pg_upgrade's words", async (t) => {
  const s = await create('pg-bad', ...on13);
  const ip = ipOf(s);
  psql(ip, "CREATE TABLE procs (p regproc); INSERT INTO procs VALUES ('now'::regproc)");
  await cli(aio!, 'database', 'instance', 'upgrade', 'pg-bad', newest);
  const after = await waitShow(aio!, 'pg-bad', (x) => x.status !== 'UPGRADE' && ready(x), 900_000);
  t.is(after.status, 'ACTIVE');
  t.is(after.datastore_version, oldMajor);
  const fault = JSON.stringify(after.fault);
  t.log(fault);
  t.regex(fault, /The upgrade from PostgreSQL 13\.\d+ .* failed and was rolled back to the old binaries and data: pg_upgrade --check failed: /);
  t.regex(fault, /Your installation contains one of the reg\* data types in user tables/);
  t.regex(fault, /tables_using_reg\.txt: In database: shop; public\.procs\.p/);
  t.true(psql(ip, 'SHOW server_version').startsWith(`${old.version}`));
  t.is(psql(ip, 'SELECT count(*) FROM procs'), '1');
});

test.serial('a PostgreSQL replication set cannot cross majors: the CLI shows the 422', async (t) => {
  await create('pg-r1', '--replica-of', 'pg-bad');
  const err = await t.throwsAsync(cli(aio!, 'database', 'instance', 'upgrade', 'pg-bad', newest));
  t.regex(err!.message, /has replicas .*its replication \(PostgresqlReplication, physical streaming\) does not cross major versions.*\(HTTP 422\)/s);
  t.is((await cliJson<Record<string, string>>(aio!, 'database', 'instance', 'show', 'pg-bad')).status, 'ACTIVE');
});

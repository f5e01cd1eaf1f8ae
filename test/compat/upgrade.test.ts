// `openstack database instance upgrade` through the real CLI against an all-in-one whose guests
// have MariaDB 10.11.18 beside the installed 10.11 release (tools/lab/engine-versions.sh) and a
// build that cannot start: a source and two replicas made on 10.11.18 move to the installed
// release, replicas first, rows kept and replication running; a pre-upgrade backup is recorded; a
// version without binaries and a build that fails on a replica both leave the set ACTIVE on its
// old version with a fault that says why (the builds it found, or the engine's own words).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cli, cliJson, reapAio, waitShow, type Aio } from '../helpers/all-in-one.js';
import { aioWithBuilds, engineBuild, failingBuild } from '../helpers/engine-versions.js';

const old = engineBuild('mariadb');
let aio: Aio | undefined;
let state: string;
let files: string[] = [];

test.before(async () => {
  state = mkdtempSync(path.join(tmpdir(), 'aio-upgrade-'));
  chmodSync(state, 0o755);
  // a build that says it is 10.11.99 and cannot start, in the engine's words
  failingBuild(`${state}.broken`, 'usr/sbin/mariadbd', {
    versionLine: 'mariadbd  Ver 10.11.99-MariaDB for debian-linux-gnu',
    errorLine: '2026-12-07  1:00:00 0 [ERROR] InnoDB: forced failure: unsupported redo log format',
    stderr: true,
  });
  ({ aio, files } = await aioWithBuilds(state, `[mariadb]\nversion_dirs = ${old.dir},${state}.broken\n`));
});

test.after.always(async () => {
  await reapAio(aio, state);
  for (const p of [state, `${state}.broken`, ...files]) rmSync(p, { recursive: true, force: true });
});

const ready = (s: Record<string, string>) => (s.status === 'ACTIVE' && s.operating_status === 'HEALTHY') || s.status === 'ERROR';
const ipOf = (s: Record<string, string>) => /127\.0\.\d+\.\d+/.exec(JSON.stringify(s))![0];
const sql = (ip: string, q: string) => execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pUp-Secret-9', 'shop', '-N', '-e', q]).toString().trim();

async function create(name: string, ...extra: string[]): Promise<Record<string, string>> {
  await cli(aio!, 'database', 'instance', 'create', name, ...extra);
  const s = await waitShow(aio!, name, ready, 240_000);
  if (s.status !== 'ACTIVE') throw new Error(`${name}: ${JSON.stringify(s)}`);
  return s;
}

const onSource = [
  '--flavor',
  'ds1G',
  '--size',
  '1',
  '--datastore',
  'mariadb',
  '--datastore-version',
  old.version,
  '--databases',
  'shop',
  '--users',
  'app:Up-Secret-9',
];

test.serial('the side-by-side builds are datastore versions of mariadb', async (t) => {
  const versions = await cliJson<Array<{ Name: string }>>(aio!, 'datastore', 'version', 'list', 'mariadb');
  const names = versions.map((v) => v.Name);
  t.true(names.includes('10.11'), JSON.stringify(names));
  t.true(names.includes(old.version), JSON.stringify(names));
  t.true(names.includes('10.11.99'), JSON.stringify(names));
});

test.serial('a source and two replicas on 10.11.18 upgrade to the installed 10.11, replicas first, every row kept', async (t) => {
  const src = await create('up-src', ...onSource);
  const ip = ipOf(src);
  sql(ip, 'CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
  for (let i = 0; i < 20; i++) sql(ip, `INSERT INTO t VALUES ${Array.from({ length: 50 }, (_, j) => `(${i * 50 + j}, 'row')`).join(',')}`);
  const r1 = await create('up-r1', '--replica-of', 'up-src');
  const r2 = await create('up-r2', '--replica-of', 'up-src');
  for (const r of [r1, r2]) t.is(sql(ipOf(r), 'SELECT VERSION()').slice(0, old.version.length), old.version);

  await cli(aio!, 'database', 'instance', 'upgrade', 'up-src', '10.11');
  t.is((await cliJson<Record<string, string>>(aio!, 'database', 'instance', 'show', 'up-src')).status, 'UPGRADE');
  const done = await waitShow(aio!, 'up-src', (s) => s.status !== 'UPGRADE' && ready(s), 600_000);
  t.is(done.status, 'ACTIVE', JSON.stringify(done));
  t.is(done.datastore_version, '10.11');
  t.false('fault' in done && Boolean(done.fault), JSON.stringify(done));
  for (const name of ['up-r1', 'up-r2']) {
    const r = await waitShow(aio!, name, ready);
    t.is(r.datastore_version, '10.11', name);
    t.notRegex(sql(ipOf(r), 'SELECT VERSION()'), new RegExp(`^${old.version.replace(/\./g, '\\.')}`), name);
  }
  t.is(sql(ip, 'SELECT COUNT(*) FROM t'), '1000');
  // replication runs on: a row written on the upgraded source reaches both replicas
  sql(ip, "INSERT INTO t VALUES (5000, 'after')");
  for (const r of [r1, r2]) {
    let seen = '';
    for (let i = 0; i < 60 && seen !== '1001'; i++) {
      seen = sql(ipOf(r), 'SELECT COUNT(*) FROM t');
      if (seen !== '1001') await new Promise((res) => setTimeout(res, 1000));
    }
    t.is(seen, '1001');
  }
  // replicas first: the taskmanager's order
  const order = [...aio!.out().matchAll(/"member":"([0-9a-f-]{36})"[^\n]*member upgraded/g)].map((m) => m[1]);
  t.deepEqual(order, [r1.id, r2.id, src.id]);
  // the backup taken first, recorded on the instance
  const backups = await cliJson<Array<{ Name: string; Status: string }>>(aio!, 'database', 'backup', 'list');
  t.true(
    backups.some((b) => b.Name === `Pre-upgrade backup of ${src.id}` && b.Status === 'COMPLETED'),
    JSON.stringify(backups),
  );
});

test.serial('a build that fails on a replica: the set stays ACTIVE on its old version, the fault in the engine words', async (t) => {
  const src = await create('bad-src', ...onSource);
  sql(ipOf(src), 'CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)');
  const r = await create('bad-r1', '--replica-of', 'bad-src');
  await cli(aio!, 'database', 'instance', 'upgrade', 'bad-src', '10.11.99');
  const after = await waitShow(aio!, 'bad-src', (s) => s.status !== 'UPGRADE' && ready(s), 600_000);
  t.is(after.status, 'ACTIVE');
  t.is(after.datastore_version, old.version);
  const fault = JSON.stringify(after.fault);
  t.regex(
    fault,
    new RegExp(
      `upgrade of the replica ${r.id} to 10\\.11\\.99 failed: The upgrade from ${old.version.replace(/\./g, '\\.')}\\S* to 10\\.11\\.99 failed and was rolled back to the old binaries and data`,
    ),
  );
  t.regex(fault, /forced failure: unsupported redo log format/);
  const replica = await waitShow(aio!, 'bad-r1', ready);
  t.is(replica.status, 'ACTIVE');
  t.is(replica.datastore_version, old.version);
  t.true(sql(ipOf(replica), 'SELECT VERSION()').startsWith(old.version));
  t.is(sql(ipOf(replica), 'SELECT COUNT(*) FROM t'), '3');
  sql(ipOf(src), 'INSERT INTO t VALUES (4)');
  let seen = '';
  for (let i = 0; i < 60 && seen !== '4'; i++) {
    seen = sql(ipOf(replica), 'SELECT COUNT(*) FROM t');
    if (seen !== '4') await new Promise((res) => setTimeout(res, 1000));
  }
  t.is(seen, '4', 'replication runs on');
});

test.serial('a version registered without a build on the guests: nothing changed, the fault names the builds found', async (t) => {
  await cli(aio!, 'datastore', 'version', 'create', '10.11.50', 'mariadb', 'mariadb', '', '--image-tags', 'trove', '--active');
  await cli(aio!, 'database', 'instance', 'upgrade', 'bad-src', '10.11.50');
  const after = await waitShow(aio!, 'bad-src', (s) => s.status !== 'UPGRADE' && ready(s), 600_000);
  t.is(after.status, 'ACTIVE');
  t.is(after.datastore_version, old.version);
  const fault = JSON.stringify(after.fault);
  t.regex(fault, /No build of version 10\.11\.50 is installed on this server \(found: /);
  t.true(fault.includes(`${old.dir}/usr/sbin/mariadbd (${old.version})`), fault);
  t.true(fault.includes(`${state}.broken/usr/sbin/mariadbd (10.11.99)`), fault);
  t.regex(fault, /nothing was changed/);
  t.is((await waitShow(aio!, 'bad-r1', ready)).datastore_version, old.version);
});

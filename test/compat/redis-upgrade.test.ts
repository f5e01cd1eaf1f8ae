// `openstack database instance upgrade` of Redis through the real CLI against an all-in-one whose
// guests have Debian bullseye's Redis 6.0 beside the installed 7.0 (tools/lab/engine-versions.sh)
// and a build that cannot start: a source and its replica made on 6.0 move to 7.0, the replica
// first, every key kept and replication running; a pre-upgrade backup is recorded; the build that
// cannot start leaves the instance ACTIVE on 6.0 with its keys and a fault in the server's words.
import test from 'ava';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { cli, cliJson, ipOf, reapAio, waitShow, type Aio } from '../helpers/all-in-one.js';
import { aioWithBuilds, engineBuild, failingBuild } from '../helpers/engine-versions.js';
import { withRedis } from '../helpers/redis-client.js';

const old = engineBuild('redis');
const KEYS = 1000;
let aio: Aio | undefined;
let state: string;

let files: string[] = [];

test.before(async () => {
  state = mkdtempSync(path.join(tmpdir(), 'aio-redis-upgrade-'));
  chmodSync(state, 0o755);
  failingBuild(`${state}.broken`, 'usr/bin/redis-server', {
    versionLine: 'Redis server v=7.0.99 sha=00000000:0 malloc=libc bits=64 build=0',
    errorLine: "4242:M 07 Dec 2026 01:00:00.000 # Forced failure: Can't handle RDB format version 99",
  });
  ({ aio, files } = await aioWithBuilds(state, `[redis]\nversion_dirs = ${old.dir},${state}.broken\n`));
});

test.after.always(async () => {
  await reapAio(aio, state);
  for (const p of [state, `${state}.broken`, ...files]) rmSync(p, { recursive: true, force: true });
});

const ready = (s: Record<string, string>) => (s.status === 'ACTIVE' && s.operating_status === 'HEALTHY') || s.status === 'ERROR';

async function create(name: string, ...extra: string[]): Promise<Record<string, string>> {
  await cli(aio!, 'database', 'instance', 'create', name, ...extra);
  const s = await waitShow(aio!, name, ready, 240_000);
  if (s.status !== 'ACTIVE') throw new Error(`${name}: ${JSON.stringify(s)}`);
  return s;
}

const rootOf = async (name: string) => (await cliJson<Record<string, string>>(aio!, 'database', 'root', 'enable', name)).password!;
const on = <T>(s: Record<string, string>, password: string, fn: (r: Redis) => Promise<T>) =>
  withRedis({ host: ipOf(s), port: 6379, password, protocol: 2 }, fn);
const versionOf = (s: Record<string, string>, pw: string) => on(s, pw, async (r) => /redis_version:(\S+)/.exec(String(await r.info('server')))?.[1]);

async function eventually(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((res) => setTimeout(res, 500)))
    if (await check().catch(() => false)) return true;
  throw new Error(`not within ${ms / 1000} s: ${what}`);
}

const onOld = ['--flavor', 'ds512M', '--size', '1', '--datastore', 'redis', '--datastore-version', '6.0'];

test.serial('the side-by-side builds are datastore versions of redis', async (t) => {
  const versions = await cliJson<Array<{ Name: string }>>(aio!, 'datastore', 'version', 'list', 'redis');
  t.deepEqual(versions.map((v) => v.Name).sort(), ['6.0', '7.0', '7.0.99']);
});

test.serial('a source and its replica on 6.0 upgrade to 7.0, the replica first, every key kept, replication running', async (t) => {
  const src = await create('rup-src', ...onOld);
  const pw = await rootOf('rup-src');
  t.regex((await versionOf(src, pw))!, /^6\.0\./);
  await on(src, pw, async (r) => {
    const p = r.pipeline();
    for (let i = 0; i < KEYS; i++) p.set(`k:${i}`, `v${i}`);
    p.hset('user:1', { name: 'ada' });
    await p.exec();
  });
  const rep = await create('rup-r1', '--replica-of', 'rup-src');
  const rpw = await rootOf('rup-r1');
  t.regex((await versionOf(rep, rpw))!, /^6\.0\./);
  await eventually('the keys on the replica', async () => (await on(rep, rpw, (r) => r.dbsize())) === KEYS + 1);

  await cli(aio!, 'database', 'instance', 'upgrade', 'rup-src', '7.0');
  const done = await waitShow(aio!, 'rup-src', (s) => s.status !== 'UPGRADE' && ready(s), 600_000);
  t.is(done.status, 'ACTIVE', JSON.stringify(done));
  t.is(done.datastore_version, '7.0');
  t.false('fault' in done && Boolean(done.fault), JSON.stringify(done));
  const repDone = await waitShow(aio!, 'rup-r1', ready);
  t.is(repDone.datastore_version, '7.0');
  t.regex((await versionOf(src, pw))!, /^7\.0\./);
  t.regex((await versionOf(rep, rpw))!, /^7\.0\./);
  t.is(await on(src, pw, (r) => r.dbsize()), KEYS + 1);
  t.is(await on(src, pw, (r) => r.hget('user:1', 'name')), 'ada');
  // replication runs on: a key written on the upgraded source reaches the upgraded replica
  await on(src, pw, (r) => r.set('after', 'upgrade'));
  t.true(await eventually('the new key on the replica', async () => (await on(rep, rpw, (r) => r.get('after'))) === 'upgrade'));
  t.is(await on(rep, rpw, (r) => r.dbsize()), KEYS + 2);
  // replicas first: the taskmanager's order
  const order = [...aio!.out().matchAll(/"member":"([0-9a-f-]{36})"[^\n]*member upgraded/g)].map((m) => m[1]);
  t.deepEqual(order, [rep.id, src.id]);
  const backups = await cliJson<Array<{ Name: string; Status: string }>>(aio!, 'database', 'backup', 'list');
  t.true(
    backups.some((b) => b.Name === `Pre-upgrade backup of ${src.id}` && b.Status === 'COMPLETED'),
    JSON.stringify(backups),
  );
});

test.serial('a build that cannot start: the instance stays ACTIVE on 6.0 with its keys, the fault in the server words', async (t) => {
  const one = await create('rup-bad', ...onOld);
  const pw = await rootOf('rup-bad');
  await on(one, pw, (r) => r.mset('a', '1', 'b', '2', 'c', '3'));
  await cli(aio!, 'database', 'instance', 'upgrade', 'rup-bad', '7.0.99');
  const after = await waitShow(aio!, 'rup-bad', (s) => s.status !== 'UPGRADE' && ready(s), 600_000);
  t.is(after.status, 'ACTIVE');
  t.is(after.datastore_version, '6.0');
  const fault = JSON.stringify(after.fault);
  t.regex(fault, /The upgrade from Redis 6\.0\.\d+ to 7\.0\.99 failed and was rolled back to the old binaries and data/);
  t.regex(fault, /Forced failure: Can't handle RDB format version 99/);
  t.regex((await versionOf(one, pw))!, /^6\.0\./);
  t.deepEqual(await on(one, pw, (r) => r.mget('a', 'b', 'c')), ['1', '2', '3']);
});

// Issue 12 item 8, faults: the control plane (trove-api and trove-conductor in this process,
// trove-taskmanager as a real child process, each instance's guest agent a real process of the
// local compute driver running a real mariadbd) reaches MariaDB and RabbitMQ through TCP proxies
// (test/helpers/tcp-proxy.ts; the machine's services themselves are never touched). Faults hit
// flows in flight: RabbitMQ "restarted" (every connection dropped, new ones refused for a few
// seconds) during creates; MariaDB "paused" (every byte held, nothing closed) during a create, a
// resize and a backup; the taskmanager SIGKILLed and started again during a create, a resize and
// a backup; guest agents SIGKILLed and started again during a create, a resize and a backup.
// Every instance and backup must end in a final state (ACTIVE, or ERROR with a fault; COMPLETED,
// or FAILED with a reason) within bounded waits, and afterwards no server, volume, address
// ("port"), bus user or stored object may belong to no live instance or backup; once everything
// is deleted nothing is left and no quota is held. Prints
// `faults: N scenarios, N flows hit in flight, N instances, N backups → all final, 0 orphans`.
// TROVE_FAULTS_PAUSE_S (default 10) is the MariaDB pause, TROVE_FAULTS_BUS_DOWN_S (default 4)
// how long RabbitMQ refuses connections.
import test from 'ava';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startControlPlane, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { filesUnder } from '../helpers/files.js';
import { testSetting } from '../helpers/settings.js';
import { configSection } from '../../src/common/config/schema.js';
import { localSection } from '../../src/clients/local/config.js';
import { LocalCompute } from '../../src/clients/local/compute.js';
import { LocalVolumes } from '../../src/clients/local/volume.js';
import { guestBusUser } from '../../src/clients/bus-accounts.js';

const PAUSE_S = Number(testSetting('TROVE_FAULTS_PAUSE_S', '10'));
const BUS_DOWN_S = Number(testSetting('TROVE_FAULTS_BUS_DOWN_S', '4'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cp: ControlPlane;
let tm: ChildProcess | undefined;
let serving = 0;
const instances: string[] = [];
const backups: string[] = [];
const scenarios: string[] = [];
/** flows a fault hit while they ran */
let hit = 0;

test.before(async () => {
  cp = await startControlPlane({
    inProcessTaskmanager: false,
    viaProxies: true,
    // bounded waits for what a killed guest never answers: its resize_fs call, a prepare it lost,
    // a backup's heartbeats
    config: { DEFAULT: { agent_call_high_timeout: '45', usage_timeout: '120', agent_heartbeat_expiry: '20', rpc_response_timeout: '30' } },
  });
  await registerDatastore(cp.tdb.db);
  await startTaskmanager();
});
test.after.always(async () => {
  cp?.proxies?.database.release();
  await cp?.proxies?.rabbit.restore();
  await cp?.stop();
});

async function startTaskmanager(): Promise<void> {
  tm = cp.spawnTaskmanager();
  serving++;
  for (const until = Date.now() + 60_000; (cp.logs.join('').match(/trove-taskmanager serving/g) ?? []).length < serving;) {
    if (Date.now() > until || tm.exitCode !== null) throw new Error(`the taskmanager did not start:\n${cp.logs.join('').slice(-3000)}`);
    await sleep(200);
  }
}

/** Polls (every `every` ms, at most `ms`) until `f` returns a value; that value. */
async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 120_000, every = 250): Promise<T> {
  for (const end = Date.now() + ms; ;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(every);
  }
}

const row = (id: string) => cp.tdb.db('instances').where({ id }).first();
const flowOf = async (id: string): Promise<{ flow: string; step: number } | undefined> => {
  const r = await row(id);
  return r?.flow_state ? (JSON.parse(r.flow_state) as { flow: string; step: number }) : undefined;
};

async function create(name: string): Promise<string> {
  const r = await cp.http.post('/instances', { instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb', version: '10.11' } } });
  if (r.status !== 200) throw new Error(`create ${name}: ${r.status} ${JSON.stringify(r.data)}`);
  instances.push(r.data.instance.id);
  return r.data.instance.id as string;
}

async function resize(id: string, size: number): Promise<void> {
  const r = await cp.http.post(`/instances/${id}/action`, { resize: { volume: { size } } });
  if (r.status !== 202) throw new Error(`resize ${id}: ${r.status} ${JSON.stringify(r.data)}`);
}

async function backup(instance: string, name: string): Promise<string> {
  const r = await cp.http.post('/backups', { backup: { name, instance } });
  if (r.status !== 202) throw new Error(`backup of ${instance}: ${r.status} ${JSON.stringify(r.data)}`);
  backups.push(r.data.backup.id);
  return r.data.backup.id as string;
}

/** An instance at rest: no flow holds it, and it is ACTIVE and HEALTHY, or ERROR with a fault. */
async function finalInstance(id: string, ms = 240_000): Promise<Record<string, any>> {
  return until(
    `instance ${id} in a final state`,
    async () => {
      if (await flowOf(id)) return undefined;
      const r = await cp.http.get(`/instances/${id}`);
      const i = r.data?.instance;
      if (i?.status === 'ACTIVE' && i.operating_status === 'HEALTHY') return i;
      if (i?.status === 'ERROR' && i.fault?.message) return i;
      return undefined;
    },
    ms,
  );
}

/** A backup at rest: COMPLETED, or FAILED with a reason; and its flow no longer holds its instance. */
async function finalBackup(id: string, ms = 240_000): Promise<Record<string, any>> {
  return until(
    `backup ${id} in a final state`,
    async () => {
      const b = (await cp.http.get(`/backups/${id}`)).data?.backup;
      if (b?.status === 'COMPLETED' || (b?.status === 'FAILED' && b.fail_reason)) {
        const f = await flowOf(b.instance_id);
        return f?.flow === 'backup' ? undefined : b;
      }
      return undefined;
    },
    ms,
  );
}

const agentPid = (id: string): number | undefined => {
  const f = path.join(cp.stateDir, 'servers', id, 'agent.pid');
  return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
};
const alive = (pid: number | undefined) => {
  try {
    return Boolean(pid) && process.kill(pid!, 0);
  } catch {
    return false;
  }
};

/** Starts the guest agent of every server whose agent is not running, as a rebooted VM would. */
async function restartGuests(): Promise<string[]> {
  const local = configSection(cp.raw, 'local', localSection);
  const volumes = new LocalVolumes(local);
  return new LocalCompute(local, (v) => volumes.dir(v)).resumeServers();
}

// A flow is "in flight" when its row says so at the moment of the fault; each scenario asserts it
// hit flows in flight, so a fault that came too late cannot pass for resilience.

test.serial('RabbitMQ restarted during two creates', async (t) => {
  t.timeout(400_000); // the waits below are bounded, each under this
  const a = await create('bus-a');
  const b = await create('bus-b');
  // while both flows run (their servers created: the guests talk over the bus)
  await until('both servers created', async () => Boolean(agentPid(a) && agentPid(b)));
  const inFlight = (await Promise.all([a, b].map(flowOf))).filter(Boolean).length;
  await cp.proxies!.rabbit.cut();
  await sleep(BUS_DOWN_S * 1000);
  await cp.proxies!.rabbit.restore();
  scenarios.push('rabbitmq restarted');
  hit += inFlight;
  t.is(inFlight, 2, 'both creates were in flight');
  for (const id of [a, b]) {
    const i = await finalInstance(id);
    t.is(i.status, 'ACTIVE', JSON.stringify(i.fault));
  }
});

let shared: { a: string; b: string };

test.serial('MariaDB paused during a create, a resize and a backup', async (t) => {
  t.timeout(400_000); // the waits below are bounded, each under this
  const [a, b] = instances as [string, string];
  shared = { a, b };
  const c = await create('db-c');
  await resize(a, 2);
  const bk = await backup(b, 'during-pause');
  const inFlight = [
    Boolean(await flowOf(c)),
    Boolean(await flowOf(a)),
    ['NEW', 'BUILDING'].includes((await cp.tdb.db('backups').where({ id: bk }).first()).state),
  ];
  cp.proxies!.database.stall();
  await sleep(PAUSE_S * 1000);
  cp.proxies!.database.release();
  scenarios.push(`mariadb paused ${PAUSE_S} s`);
  hit += inFlight.filter(Boolean).length;
  t.deepEqual(inFlight, [true, true, true], 'the create, the resize and the backup were in flight');
  const created = await finalInstance(c);
  t.is(created.status, 'ACTIVE', JSON.stringify(created.fault));
  const resized = await finalInstance(a);
  t.is(resized.status, 'ACTIVE', JSON.stringify(resized.fault));
  t.is(resized.volume.size, 2, JSON.stringify(resized.fault));
  t.is((await finalBackup(bk)).status, 'COMPLETED');
});

test.serial('the taskmanager killed during a create, a resize and a backup', async (t) => {
  t.timeout(400_000);
  const { a, b } = shared;
  // the longest first, the shortest (a volume resize) last: the kill comes as soon as the last
  // flow is recorded (so it is the next taskmanager's to resume), while the others still run
  // a's and b's guests are held (SIGSTOP) from the moment their flow is recorded until the next
  // taskmanager runs: a small backup or a volume resize can otherwise end before the kill, and the
  // kill must find them in flight (the create is the longest anyway)
  const held: number[] = [];
  const hold = (id: string) => {
    const pid = agentPid(id);
    if (!pid || !alive(pid)) return;
    process.kill(pid, 'SIGSTOP');
    held.push(pid);
  };
  const release = () => {
    for (const pid of held.splice(0)) if (alive(pid)) process.kill(pid, 'SIGCONT');
  };
  t.teardown(release);
  const d = await create('tm-d');
  const bk = await backup(a, 'during-tm-kill');
  await until('the backup flow recorded', async () => (await flowOf(a))?.flow === 'backup', 60_000, 20);
  hold(a);
  await resize(b, 2);
  await until('the resize flow recorded', async () => Boolean(await flowOf(b)), 60_000, 20);
  hold(b);
  tm!.kill('SIGKILL');
  await until('the taskmanager gone', async () => tm!.exitCode !== null || tm!.signalCode !== null, 10_000);
  const inFlight = [
    Boolean(await flowOf(d)),
    Boolean(await flowOf(b)),
    ['NEW', 'BUILDING', 'SAVING'].includes((await cp.tdb.db('backups').where({ id: bk }).first()).state),
  ];
  await startTaskmanager();
  release();
  scenarios.push('taskmanager killed');
  hit += inFlight.filter(Boolean).length;
  t.deepEqual(inFlight, [true, true, true], 'the create, the resize and the backup were in flight');
  const created = await finalInstance(d);
  t.is(created.status, 'ACTIVE', JSON.stringify(created.fault));
  const resized = await finalInstance(b);
  t.is(resized.status, 'ACTIVE', JSON.stringify(resized.fault));
  t.is(resized.volume.size, 2, JSON.stringify(resized.fault));
  const done = await finalBackup(bk);
  t.is(done.status, 'COMPLETED', JSON.stringify(done));
});

test.serial('guest agents killed during a create, a resize and a backup', async (t) => {
  t.timeout(400_000); // the waits below are bounded, each under this
  const { b } = shared;
  const c = instances[2]!;
  const e = await create('guest-e');
  await resize(c, 2);
  const bk = await backup(b, 'during-guest-kill');
  const killed: string[] = [];
  // e's agent as soon as it runs (it is preparing), a's during the backup, c's during the resize
  const kill = async (id: string, when: () => Promise<boolean>) => {
    await until(`${id} ready to kill`, async () => (await when()) && alive(agentPid(id)), 60_000);
    process.kill(agentPid(id)!, 'SIGKILL');
    killed.push(id);
  };
  await Promise.all([
    kill(e, async () => Boolean(await flowOf(e))),
    kill(b, async () => ['BUILDING', 'SAVING'].includes((await cp.tdb.db('backups').where({ id: bk }).first()).state)),
    kill(c, async () => Boolean(await flowOf(c))),
  ]);
  const inFlight = [
    Boolean(await flowOf(e)),
    Boolean(await flowOf(c)),
    ['NEW', 'BUILDING', 'SAVING'].includes((await cp.tdb.db('backups').where({ id: bk }).first()).state),
  ];
  await until('the killed agents gone', async () => killed.every((id) => !alive(agentPid(id))), 10_000);
  await sleep(2000);
  // (a flow may have started one again already)
  await restartGuests();
  scenarios.push('guests killed');
  const serverGone = (id: string) => !existsSync(path.join(cp.stateDir, 'servers', id));
  t.true(
    killed.every((id) => alive(agentPid(id)) || serverGone(id)),
    `the killed agents run again (or their server was removed): ${killed.map((id) => `${id} ${alive(agentPid(id))} ${serverGone(id)}`).join(', ')}`,
  );
  hit += inFlight.filter(Boolean).length;
  t.log('in flight when killed (create, resize, backup):', inFlight.join(', '), { e, c, b });
  const created = await finalInstance(e);
  t.true(created.status === 'ACTIVE' || created.status === 'ERROR', JSON.stringify(created));
  const resized = await finalInstance(c);
  t.true(['ACTIVE', 'ERROR'].includes(resized.status), JSON.stringify(resized));
  const done = await finalBackup(bk);
  // cut short by its agent's death: FAILED with the reason (or done before the kill took)
  t.true(done.status === 'COMPLETED' || /guest agent stopped while the backup was running/.test(done.fail_reason), JSON.stringify(done));
  t.log(
    `create → ${created.status}${created.fault ? ` (${created.fault.message})` : ''}; resize → ${resized.status} size ${resized.volume?.size}${resized.fault ? ` (${resized.fault.message})` : ''}; backup → ${done.status}${done.fail_reason ? ` (${done.fail_reason})` : ''}`,
  );
});

// ---- orphans ----

const entries = (sub: string) => (existsSync(path.join(cp.stateDir, sub)) ? readdirSync(path.join(cp.stateDir, sub)) : []);

async function busUsers(): Promise<string[]> {
  const r = await fetch('http://127.0.0.1:15672/api/users', { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  return ((await r.json()) as Array<{ name: string }>).map((u) => u.name);
}

/** What belongs to no live instance or backup: servers, their processes, volumes, addresses, bus users, stored objects. */
async function orphans(): Promise<string[]> {
  const live = await cp.tdb.db('instances').where({ deleted: false }).select('id', 'compute_instance_id', 'volume_id');
  const all = await cp.tdb.db('instances').select('id');
  const liveBackups = (await cp.tdb.db('backups').where({ deleted: false }).select('id')).map((r: { id: string }) => r.id);
  const servers = new Set(live.map((r: { compute_instance_id: string | null; id: string }) => r.compute_instance_id ?? r.id));
  const out: string[] = [];
  for (const s of entries('servers')) if (!servers.has(s)) out.push(`server ${s}`);
  const volumes = new Set(live.map((r: { volume_id: string | null }) => r.volume_id));
  for (const v of entries('volumes')) if (!volumes.has(v)) out.push(`volume ${v}`);
  for (const a of entries('addresses')) {
    const owner = readFileSync(path.join(cp.stateDir, 'addresses', a), 'utf8');
    if (!servers.has(owner)) out.push(`address ${a} of ${owner}`);
  }
  const users = new Set(await busUsers());
  const liveIds = new Set(live.map((r: { id: string }) => r.id));
  for (const { id } of all as Array<{ id: string }>) if (!liveIds.has(id) && users.has(guestBusUser(id))) out.push(`bus user of ${id}`);
  for (const f of filesUnder(path.join(cp.stateDir, 'objects'))) {
    // a backup's object and segments are named after it; archived binlogs after their instance
    if (f.startsWith('.incoming/') || ![...liveBackups, ...liveIds].some((id) => f.includes(id))) out.push(`object ${f}`);
  }
  return out;
}

test.serial('afterwards: nothing orphaned; everything deleted leaves nothing and holds no quota', async (t) => {
  t.timeout(400_000); // the waits below are bounded, each under this
  t.truthy(cp.proxies, 'the suite ran');
  // the state at rest, before any delete
  for (const id of instances) await finalInstance(id);
  for (const id of backups) await finalBackup(id);
  const before = await orphans();
  t.deepEqual(before, [], 'nothing belongs to no live instance or backup');
  const errors = () =>
    cp.logs
      .filter((l) => /"level":(50|60)/.test(l))
      .slice(-5)
      .join('\n')
      .slice(0, 3000);
  for (const id of backups) {
    const r = await cp.http.delete(`/backups/${id}`);
    t.is(r.status, 202, `${JSON.stringify(r.data)}\n${errors()}`);
  }
  for (const id of backups) await until(`backup ${id} deleted`, async () => (await cp.http.get(`/backups/${id}`)).status === 404, 120_000);
  for (const id of instances) t.is((await cp.http.delete(`/instances/${id}`)).status, 202);
  for (const id of instances) await until(`instance ${id} deleted`, async () => (await cp.http.get(`/instances/${id}`)).status === 404, 180_000);
  const after = await orphans();
  t.deepEqual(after, [], 'nothing left after every delete');
  t.deepEqual([entries('servers'), entries('volumes'), entries('addresses')], [[], [], []]);
  const usage = await cp.tdb.db('quota_usages').select('resource', 'in_use', 'reserved');
  t.deepEqual(
    usage.filter((u: { in_use: number; reserved?: number }) => u.in_use !== 0 || (u.reserved ?? 0) !== 0),
    [],
    'no quota held',
  );
  const line = `faults: ${scenarios.length} scenarios, ${hit} flows hit in flight, ${instances.length} instances, ${backups.length} backups → all final, ${before.length + after.length} orphans`;
  t.log(line);
  console.log(line);
});

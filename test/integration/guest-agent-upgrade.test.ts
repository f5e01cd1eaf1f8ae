// Guest agent upgrades on real parts (RabbitMQ, MariaDB, the local compute driver, a real guest
// agent process running a real redis-server): an agent configured as an older one (RPC 1.1, version
// 0.0.9) reports that in its heartbeats, shown to the admin; the control plane still talks to it,
// and refuses a verb it lacks (upgrade_agent, RPC 1.2) with a 400 saying so instead of waiting.
// The new code "installed" (the override gone), the admin's upgrade restarts the agent alone: the
// engine keeps its pid and a client's connection, and the agent reports the new version.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { isAlive as alive } from '../../guestagent/platform/process.js';

let cp: ControlPlane;
const OLD_AGENT = '[DEFAULT]\nlog_level = info\nagent_version = 0.0.9\nagent_rpc_version = 1.1\n';
const PACKAGE_VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

test.before(async () => {
  cp = await startControlPlane({ guestConfig: OLD_AGENT });
  const ds = randomUUID();
  const v = randomUUID();
  await cp.tdb.db('datastores').insert({ id: ds, name: 'redis', default_version_id: v });
  await cp.tdb
    .db('datastore_versions')
    .insert({ id: v, datastore_id: ds, name: '7.0', version: '7.0', manager: 'redis', image_id: 'local', packages: '', active: true });
});

test.after.always(async () => {
  await cp?.stop();
});

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not in time; last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const pidIn = (file: string) => Number(readFileSync(file, 'utf8'));

/** One line of a raw RESP connection's answer to PING (+PONG, or -NOAUTH when a password is set: either way, an answer). */
function ping(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (d) => resolve(String(d).split('\r\n')[0]!));
    socket.once('error', reject);
    socket.write('PING\r\n');
  });
}

test('an N-1 agent is talked to within its RPC version; an upgrade restarts it on the new code, the engine untouched', async (t) => {
  const created = await cp.http.post('/instances', { instance: { name: 'agent-up', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' } } });
  t.is(created.status, 200, JSON.stringify(created.data));
  const id = created.data.instance.id as string;
  const active = await waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR');
  t.is(active?.status, 'ACTIVE', JSON.stringify(active));
  const mgmtShow = async () => (await cp.http.get(`/mgmt/instances/${id}`)).data.instance as Record<string, unknown>;

  // the older agent says what it is; the admin sees it, the owner's view does not carry it
  const old = await until('the old agent version', mgmtShow, (i) => i.guest_agent !== null);
  t.deepEqual(old.guest_agent, { version: '0.0.9', rpc_version: '1.1' });
  t.false('guest_agent' in (await cp.http.get(`/instances/${id}`)).data.instance);

  // the control plane still talks to it (1.0 and 1.1 verbs), and refuses what it lacks at once
  t.is((await cp.http.get(`/mgmt/instances/${id}/rpc_ping`)).status, 204);
  t.is((await cp.http.post(`/instances/${id}/root`)).status, 200);
  const refused = await cp.http.post(`/mgmt/instances/${id}/upgrade`, { upgrade: { location: 'http://127.0.0.1:9/trove-guestagent.tar.gz' } });
  t.is(refused.status, 400);
  t.deepEqual(refused.data, {
    badRequest: { code: 400, message: `The guest agent of instance ${id} speaks RPC 1.1; upgrade_agent needs RPC 1.2: upgrade the agent.` },
  });

  // the engine as it runs now: its pid, and a client's connection
  const serverDir = path.join(cp.stateDir, 'servers', id);
  const enginePidFile = readdirSync(path.join(serverDir, 'agent'))
    .filter((f) => f.endsWith('.pid'))
    .map((f) => path.join(serverDir, 'agent', f))[0]!;
  const enginePid = pidIn(enginePidFile);
  const oldAgentPid = pidIn(path.join(serverDir, 'agent.pid'));
  const socket = net.connect(6379, (active!.ip as string[])[0]!);
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  t.regex(await ping(socket), /^[+-]/);

  // the new code installed (the override gone); the admin upgrades the agent
  writeFileSync(path.join(cp.stateDir, 'guest-extra.conf'), '[DEFAULT]\nlog_level = info\n');
  const upgraded = await cp.http.post(`/mgmt/instances/${id}/upgrade`, { upgrade: {} });
  t.is(upgraded.status, 202, JSON.stringify(upgraded.data));
  const fresh = await until('the new agent version', mgmtShow, (i) => (i.guest_agent as { version?: string } | null)?.version === PACKAGE_VERSION);
  t.deepEqual(fresh.guest_agent, { version: PACKAGE_VERSION, rpc_version: '1.2' });
  t.not(pidIn(path.join(serverDir, 'agent.pid')), oldAgentPid);
  t.false(alive(oldAgentPid));

  // the engine was not touched: same process, the client's connection still answered
  t.is(pidIn(enginePidFile), enginePid);
  t.true(alive(enginePid));
  t.regex(await ping(socket), /^[+-]/);
  t.like((await cp.http.get(`/instances/${id}`)).data.instance, { status: 'ACTIVE' });

  // the new agent speaks 1.2: upgrade_agent reaches it (and an all-in-one agent, with no install directory, refuses it: 501)
  t.is((await cp.http.get(`/mgmt/instances/${id}/rpc_ping`)).status, 204);
  const reached = await cp.http.post(`/mgmt/instances/${id}/upgrade`, { upgrade: { location: 'http://127.0.0.1:9/trove-guestagent.tar.gz' } });
  t.is(reached.status, 501, JSON.stringify(reached.data));
  t.regex(JSON.stringify(reached.data), /agent_install_dir is not set/);
});

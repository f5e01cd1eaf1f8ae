// The local compute driver's address allocation: servers created at the same moment (one driver,
// or two drivers as two taskmanagers would be) each get their own loopback address, and a deleted
// server's address is handed out again. An agent restart (the all-in-one's agent upgrade) keeps
// the running agent when the installed code does not start.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalCompute } from './compute.js';
import { localSection } from './config.js';
import { RUNTIME_DIR_RECORD, runtimeDirFor } from '../../common/runtime-dir.js';

let nextSubnet = 250;

/** A driver whose "guest agent" only sleeps (it listens nowhere), on a subnet of its own. */
function setup(t: { teardown(fn: () => unknown): void }, extra: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'local-compute-'));
  const agent = path.join(dir, 'agent.mjs');
  writeFileSync(agent, 'setTimeout(() => undefined, 60_000);\nprocess.on("SIGTERM", () => process.exit(0));\n');
  // one subnet per test, 250-254: outside the control planes' (test/helpers/control-plane.ts:
  // 100-249), whose engines listen on the probed ports, and apart from each other, since probing an
  // address binds its ports for a moment and two tests probing one address would see it taken
  const subnet = String(nextSubnet++);
  if (Number(subnet) > 254) throw new Error('more tests than subnets 250-254');
  const config = localSection.parse({ state_dir: dir, address_subnet: subnet, guestagent_bin: agent, ...extra });
  const make = () => new LocalCompute(config, (id) => path.join(dir, 'volumes', id));
  const created: Array<[LocalCompute, string]> = [];
  t.teardown(async () => {
    for (const [c, id] of created) await c.deleteServer(id);
    rmSync(dir, { recursive: true, force: true });
  });
  const create = async (c: LocalCompute, id: string) => {
    created.push([c, id]);
    const flavor = await c.getFlavor('1');
    return c.createServer({ instanceId: id, name: id, flavor, imageId: 'local', guestConfig: '[DEFAULT]\n', networkIds: [], securityGroupIds: [] });
  };
  return { make, create, subnet, dir };
}

test('servers created at the same moment get distinct addresses', async (t) => {
  const { make, create, subnet } = setup(t);
  const one = make();
  const other = make(); // a second taskmanager on the same state directory
  const servers = await Promise.all(Array.from({ length: 8 }, (_, i) => create(i % 2 ? other : one, `s${i}`)));
  const addresses = servers.map((s) => s.addresses[0]!.address);
  t.is(new Set(addresses).size, 8, addresses.join(', '));
  for (const a of addresses) t.regex(a, new RegExp(`^127\\.0\\.${subnet}\\.\\d+$`));
});

test("a deleted server's address is free again; a re-created server keeps its own", async (t) => {
  const { make, create } = setup(t);
  const c = make();
  const first = (await create(c, 'a')).addresses[0]!.address;
  t.is((await create(c, 'a')).addresses[0]!.address, first, 'a retried create finds the same server');
  await c.deleteServer('a');
  const again = (await create(c, 'b')).addresses[0]!.address;
  t.is(again, first);
});

test('a claim left by a server that no longer exists does not hold its address', async (t) => {
  const { make, create, subnet, dir } = setup(t);
  mkdirSync(path.join(dir, 'addresses'), { recursive: true });
  writeFileSync(path.join(dir, 'addresses', `127.0.${subnet}.2`), 'gone-server');
  t.is((await create(make(), 'fresh')).addresses[0]!.address, `127.0.${subnet}.2`);
});

test("[local] runtime_dir reaches each instance's agent; deleting the server removes the runtime directory its agent recorded", async (t) => {
  const base = mkdtempSync(path.join(tmpdir(), 'local-rt-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const { make, create, dir } = setup(t, { runtime_dir: base });
  const c = make();
  await create(c, 'r1');
  t.regex(readFileSync(path.join(dir, 'servers', 'r1', 'local.conf'), 'utf8'), new RegExp(`^runtime_dir = ${base}$`, 'm'));
  // what the agent does at its start (guestagent/main.ts): its runtime directory, recorded in its state directory
  const agentDir = path.join(dir, 'servers', 'r1', 'agent');
  mkdirSync(agentDir);
  const rt = runtimeDirFor(agentDir, base);
  mkdirSync(path.join(rt, 'mysql'), { recursive: true });
  writeFileSync(path.join(agentDir, RUNTIME_DIR_RECORD), rt);
  // a neighbour's runtime directory stays
  const other = path.join(base, 'someone-else');
  mkdirSync(other);
  await c.deleteServer('r1');
  t.false(existsSync(rt));
  t.true(existsSync(other));
  t.false(existsSync(path.join(dir, 'servers', 'r1')));
});

test("an agent restart (the all-in-one's upgrade) keeps the running agent when the installed code does not start, and replaces it when it does", async (t) => {
  const code = mkdtempSync(path.join(tmpdir(), 'local-agent-code-'));
  t.teardown(() => rmSync(code, { recursive: true, force: true }));
  const bin = path.join(code, 'agent.mjs');
  // an agent that says when it runs (its code is read by then), answers --version, and sleeps
  const agentCode = (version: string) =>
    `import { writeFileSync } from 'node:fs';\nif (process.argv.includes('--version')) { console.log('${version}'); process.exit(0); }\n` +
    `writeFileSync(${JSON.stringify(path.join(code, 'running-'))} + process.pid, '');\nsetTimeout(() => undefined, 60_000);\nprocess.on('SIGTERM', () => process.exit(0));\n`;
  writeFileSync(bin, agentCode('0.1.0'));
  const { make, create, dir } = setup(t, { guestagent_bin: bin });
  const c = make();
  await create(c, 'up');
  const agentPid = () => Number(readFileSync(path.join(dir, 'servers', 'up', 'agent.pid'), 'utf8'));
  const running = async (pid: number) => {
    while (!existsSync(path.join(code, `running-${pid}`))) await new Promise((r) => setTimeout(r, 50));
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const first = agentPid();
  await running(first);
  // the installed code is broken: its --version fails; the running agent stays
  writeFileSync(bin, "throw new Error('SyntaxError in the new agent');\n");
  const err = await t.throwsAsync(c.restartAgent('up'));
  t.regex(err.message, /does not start: .*SyntaxError in the new agent.*The running agent is kept\./);
  t.is(agentPid(), first);
  t.true(alive(first));
  // the installed code starts: the agent is stopped and the new code started in its place
  writeFileSync(bin, agentCode('0.2.0'));
  t.is(await c.restartAgent('up'), '0.2.0');
  t.not(agentPid(), first);
  t.false(alive(first));
  await running(agentPid());
  t.true(alive(agentPid()));
});

// Failure paths on real parts: a taskmanager killed mid-create is resumed by the next one (ACTIVE,
// one server, nothing orphaned); a guest that never reports ends in ERROR after the timeout with
// its server and volume removed; an engine that cannot start ends in ERROR at once.
import test from 'ava';
import { existsSync, readdirSync, writeFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { runBin } from '../helpers/run-bin.js';

async function seed(cp: ControlPlane): Promise<void> {
  await registerDatastore(cp.tdb.db);
}

const body = (name: string) => ({ instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb', version: '10.11' } } });
const dirs = (cp: ControlPlane, sub: string) => (existsSync(path.join(cp.stateDir, sub)) ? readdirSync(path.join(cp.stateDir, sub)) : []);

test('a taskmanager killed in the middle of a create is resumed by the next one', async (t) => {
  const cp = await startControlPlane({ inProcessTaskmanager: false });
  t.teardown(() => cp.stop());
  await seed(cp);
  const first = cp.spawnTaskmanager();
  // wait until it serves, then create
  const r = await (async () => {
    for (let i = 0; i < 100; i++) {
      if (cp.logs.join('').includes('trove-taskmanager serving')) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    return cp.http.post('/instances', body('resumed'));
  })();
  t.is(r.status, 200);
  const id = r.data.instance.id as string;
  // kill it as soon as the flow has created the server (step index >= 3)
  for (let i = 0; i < 300; i++) {
    const row = await cp.tdb.db('instances').where({ id }).first('flow_state');
    if (row.flow_state && JSON.parse(row.flow_state).step >= 3) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  first.kill('SIGKILL');
  const mid = await cp.tdb.db('instances').where({ id }).first('flow_state', 'flow_owner');
  t.truthy(mid.flow_state, 'killed while the flow was in progress');
  cp.spawnTaskmanager();
  const active = await waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR', 120_000);
  t.is(active?.status, 'ACTIVE', JSON.stringify(active?.fault));
  t.deepEqual(dirs(cp, 'servers'), [id], 'exactly one server, no orphan');
  t.is(dirs(cp, 'volumes').length, 1, 'exactly one volume');
  const row = await cp.tdb.db('instances').where({ id }).first();
  t.not(row.flow_owner, mid.flow_owner ?? 'x');
  t.is(await cp.http.delete(`/instances/${id}`).then((x) => x.status), 202);
  await waitForInstance(cp.http, id, (_i, s) => s === 404, 120_000);
  t.deepEqual(dirs(cp, 'servers'), []);
  t.deepEqual(dirs(cp, 'volumes'), []);
});

test('a guest that never reports ready ends in ERROR after the timeout, with nothing left behind', async (t) => {
  // mariadbd replaced by a program that stays up but never listens (writing its pid where
  // mariadbd would, so the server's removal stops it): the guest waits, the flow's deadline passes
  const bin = mkdtempSync(path.join(tmpdir(), 'silent-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  const silent = path.join(bin, 'mariadbd');
  writeFileSync(silent, '#!/bin/sh\ncnf="${1#--defaults-file=}"\necho $$ > "$(sed -n \'s/^pid-file *= *//p\' "$cnf" | head -1)"\nexec sleep 600\n');
  chmodSync(silent, 0o755);
  const cp0 = { dir: '' };
  const cp = await startControlPlane({
    config: { DEFAULT: { usage_timeout: '12' } },
    guestConfig: `[mariadb]\nmysqld_bin = ${silent}\ninstall_db_bin = /bin/true\nstart_timeout = 600\n`,
  });
  cp0.dir = cp.stateDir;
  t.teardown(() => cp.stop());
  await seed(cp);
  const r = await cp.http.post('/instances', body('silent'));
  t.is(r.status, 200);
  const id = r.data.instance.id as string;
  const failed = await waitForInstance(cp.http, id, (i) => i?.status === 'ERROR', 90_000);
  t.regex(String((failed!.fault as { message: string }).message), /timed out|did not report/);
  t.deepEqual(dirs(cp, 'servers'), [], 'the server was removed');
  t.deepEqual(dirs(cp, 'volumes'), [], 'the volume was removed');
  const del = await cp.http.delete(`/instances/${id}`);
  t.is(del.status, 202, 'an ERROR instance can be deleted');
  await waitForInstance(cp.http, id, (_i, s) => s === 404, 60_000);
});

type Fault = { message: string; details?: string; created: string };

/** An admin's fault: the message names the reason, the details hold the guest's log tail (no stack trace, no "see the guest log"). */
function assertGuestFault(t: import('ava').ExecutionContext, fault: Fault | undefined, message: RegExp): void {
  t.truthy(fault, 'the instance has a fault');
  t.regex(fault!.message, message, JSON.stringify(fault!.message));
  t.notRegex(fault!.message, /see the guest log/);
  t.regex(fault!.details ?? '', /--- server console \(guest agent log\)/, 'the agent log tail was read before the server was removed');
  t.regex(fault!.details ?? '', /prepare failed/);
  t.notRegex(fault!.details ?? '', /\n\s+at .*\.(ts|js):\d+/, 'no stack trace');
}

test('an engine binary that is missing: the fault names it', async (t) => {
  const cp = await startControlPlane({ guestConfig: '[mariadb]\nmysqld_bin = /nonexistent/mariadbd\n' });
  t.teardown(() => cp.stop());
  await seed(cp);
  const r = await cp.http.post('/instances', body('broken'));
  const id = r.data.instance.id as string;
  const failed = await waitForInstance(cp.http, id, (i) => i?.status === 'ERROR', 90_000);
  assertGuestFault(
    t,
    failed!.fault as Fault,
    /^Building the instance failed: the database could not start: could not start \/nonexistent\/mariadbd: no such file/,
  );
  t.deepEqual(dirs(cp, 'servers'), []);
});

test('a configuration value mariadbd refuses at start: the fault quotes mariadbd, at once', async (t) => {
  // character_set_server is a free string for the API's validation rules; mariadbd refuses an unknown one and exits
  const cp = await startControlPlane({ guestConfig: '[mariadb]\nstart_timeout = 600\n' });
  t.teardown(() => cp.stop());
  await seed(cp);
  const rules = await runBin('trove-manage', [
    '--config-file',
    cp.confFile,
    'db_load_datastore_config_parameters',
    'mariadb',
    '10.11',
    'etc/datastores/mariadb/validation-rules.json',
  ]);
  t.is(rules.code, 0, rules.stderr);
  const g = await cp.http.post('/configurations', {
    configuration: { name: 'klingon', values: { character_set_server: 'klingon' }, datastore: { type: 'mariadb', version: '10.11' } },
  });
  t.is(g.status, 200, JSON.stringify(g.data));
  const started = Date.now();
  const r = await cp.http.post('/instances', { instance: { ...body('refused').instance, configuration: g.data.configuration.id } });
  t.is(r.status, 200, JSON.stringify(r.data));
  const id = r.data.instance.id as string;
  const failed = await waitForInstance(cp.http, id, (i) => i?.status === 'ERROR', 300_000);
  t.is(failed?.status, 'ERROR');
  t.true(Date.now() - started < 120_000, `failed when mariadbd exited, not after start_timeout (${Math.round((Date.now() - started) / 1000)} s)`);
  assertGuestFault(
    t,
    failed!.fault as Fault,
    /^Building the instance failed: the database could not start: mariadb-install-db could not initialise the data directory: \/\S+\/mariadbd: Character set 'klingon' is not a compiled character set/,
  );
  t.notRegex((failed!.fault as Fault).message, /Aborting/, 'only the lines that matter');
  t.regex((failed!.fault as Fault).details ?? '', /--- guest log tail ---[\s\S]*klingon/, 'the engine error lines are in the details');
  t.deepEqual(dirs(cp, 'servers'), [], 'nothing left running');
});

test('a configuration the running mariadbd refuses, then a restart it cannot start: each fault quotes mariadbd', async (t) => {
  const cp = await startControlPlane({ guestConfig: '[mariadb]\nstart_timeout = 600\n', config: { DEFAULT: { agent_call_high_timeout: '300' } } });
  t.teardown(() => cp.stop());
  await seed(cp);
  const rules = await runBin('trove-manage', [
    '--config-file',
    cp.confFile,
    'db_load_datastore_config_parameters',
    'mariadb',
    '10.11',
    'etc/datastores/mariadb/validation-rules.json',
  ]);
  t.is(rules.code, 0, rules.stderr);
  const r = await cp.http.post('/instances', body('restarted'));
  const id = r.data.instance.id as string;
  const active = await waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR', 120_000);
  t.is(active?.status, 'ACTIVE', JSON.stringify(active?.fault));
  const g = await cp.http.post('/configurations', {
    configuration: { name: 'klingon', values: { character_set_server: 'klingon' }, datastore: { type: 'mariadb', version: '10.11' } },
  });
  t.is(g.status, 200, JSON.stringify(g.data));
  t.is((await cp.http.put(`/instances/${id}`, { instance: { configuration: g.data.configuration.id } })).status, 202);
  // the live SET fails: the fault is mariadbd's answer; the value is on disk, so a restart is due
  const applied = await waitForInstance(cp.http, id, (i) => Boolean(i?.fault) && i?.status !== 'BUILD' && (i?.status as string) !== 'REBOOT', 60_000);
  t.regex((applied!.fault as Fault).message, /^Applying the configuration group failed in step apply_overrides: .*klingon/, JSON.stringify(applied!.fault));
  const began = Date.now();
  t.is((await cp.http.post(`/instances/${id}/action`, { restart: {} })).status, 202);
  const restarted = await waitForInstance(cp.http, id, (i) => /^Restart failed/.test(String((i?.fault as Fault | undefined)?.message)), 240_000);
  const fault = restarted!.fault as Fault;
  t.regex(
    fault.message,
    /^Restart failed in step restart: mariadbd exited while starting: mariadbd: Character set 'klingon' is not a compiled character set/,
    JSON.stringify(fault.message),
  );
  t.true(Date.now() - began < 100_000, `the restart failed when mariadbd exited (${Math.round((Date.now() - began) / 1000)} s), not after start_timeout`);
  t.regex(fault.details ?? '', /--- server console \(guest agent log\)/);
  t.notRegex(fault.details ?? '', /\n\s+at .*\.(ts|js):\d+/, 'no stack trace');
});

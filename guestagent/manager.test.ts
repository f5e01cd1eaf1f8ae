// The guest's prepare and status reports around a failed restore: the fresh engine prepared before
// the restore holds none of the user's data, so once the restore failed the agent stops it, reports
// 'failed to spawn' at every later heartbeat (never 'healthy', which would turn the instance
// ACTIVE), refuses a second prepare, and remembers all this in its state file across a restart.
// The engine here is a recording stand-in: what is tested is the agent's own bookkeeping.
import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../src/common/log.js';
import type { Stub } from '../src/rpc/contract.js';
import type { ConductorContract } from '../src/rpc/contracts/conductor.js';
import { guestContract } from '../src/rpc/contracts/guest.js';
import { backupDefaults } from './backup/config.js';
import type { Engine, HealthStatus } from './capabilities.js';
import { guestHandlers, parseFailure, StatusReporter, type GuestManagerOptions } from './manager.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const ctx = { context: {}, method: 'prepare' };

function fakeEngine() {
  const calls: string[] = [];
  let prepared = false;
  let running = false;
  const engine = {
    name: 'mariadb',
    lifecycle: {
      prepare: async () => {
        calls.push('prepare');
        prepared = true;
        running = true;
      },
      start: async () => {
        calls.push('start');
        running = true;
      },
      stop: async () => {
        calls.push('stop');
        running = false;
      },
      restart: async () => undefined,
      reconfigure: async () => undefined,
      health: async (): Promise<HealthStatus> => (running ? 'healthy' : 'shutdown'),
      filesystemStats: async () => ({ block_size: 4096, total_blocks: 0, free_blocks: 0, total: 1, free: 1, used: 0 }),
      prepared: async () => prepared,
      setReadOnly: async () => undefined,
    },
    backup: {},
  } as unknown as Engine;
  return { engine, calls, isRunning: () => running };
}

function setup(stateDir: string) {
  const beats: string[] = [];
  const payloads: Array<Record<string, unknown>> = [];
  const conductor = {
    heartbeat: async (a: { payload: { service_status: string } }) => void (beats.push(a.payload.service_status), payloads.push(a.payload)),
    report_usage: async () => undefined,
  } as unknown as Stub<ConductorContract>;
  const fake = fakeEngine();
  const o: GuestManagerOptions = {
    instanceId: 'i-1',
    engine: fake.engine,
    conductor,
    log,
    backupConfig: backupDefaults.parse({ backup_local_dir: path.join(stateDir, 'objects') }),
    prepareFailedFile: path.join(stateDir, 'prepare-failed'),
  };
  const reporter = new StatusReporter(o);
  return { o, reporter, handlers: guestHandlers(o, reporter), beats, payloads, ...fake };
}

// an incremental backup without its chain: restoreInto fails after the engine was prepared
const failingRestore = guestContract.prepare.args.parse({ memory_mb: 512, backup_info: { id: 'b-2', location: 'database_backups/b-2', type: 'incremental' } });

test('a restore that fails after prepare: engine stopped, failed to spawn for good, no second prepare', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'guest-manager-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const g = setup(dir);
  await t.throwsAsync(g.handlers.prepare(failingRestore, ctx), { message: /incremental/ });
  t.deepEqual(g.calls, ['prepare', 'stop']);
  t.false(g.isRunning());
  t.deepEqual(g.beats, ['building', 'failed to spawn']);
  // the periodic heartbeat: even with the engine started by hand, the instance stays failed
  await g.engine.lifecycle.start();
  await g.reporter.report();
  t.is(g.beats.at(-1), 'failed to spawn');
  t.true(existsSync(path.join(dir, 'prepare-failed')));
  await t.throwsAsync(g.handlers.prepare(guestContract.prepare.args.parse({ memory_mb: 512 }), ctx), { message: /earlier prepare of this instance failed/ });

  // a restarted agent reads the state file: still failed
  const again = setup(dir);
  await again.reporter.report();
  t.deepEqual(again.beats, ['failed to spawn']);
  // every 'failed to spawn' says why, also after the restart; the other statuses carry nothing more
  const reason = g.payloads.at(-1)!.failure_reason as string;
  t.regex(reason, /incremental/);
  t.is(again.payloads[0]!.failure_reason, reason);
  t.regex(String(again.payloads[0]!.failure_log_tail), /^trove-guestagent: prepare failed: .*incremental/m);
  t.deepEqual(Object.keys(g.payloads[0]!), ['service_status']);
});

test("an older agent's plain-text prepare-failed file is still its reason", (t) => {
  t.deepEqual(parseFailure('restore failed'), { reason: 'restore failed', logTail: '' });
  t.deepEqual(parseFailure(''), { reason: 'prepare failed', logTail: '' });
  t.deepEqual(parseFailure('{"reason":"x","log_tail":"y"}'), { reason: 'x', logTail: 'y' });
});

test('a prepare that succeeds reports the engine’s health', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'guest-manager-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const g = setup(dir);
  await g.handlers.prepare(guestContract.prepare.args.parse({ memory_mb: 512 }), ctx);
  t.deepEqual(g.beats, ['building', 'healthy']);
  t.false(existsSync(path.join(dir, 'prepare-failed')));
});

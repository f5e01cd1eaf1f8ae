// create_backup repeated for one backup (a taskmanager resumed after a crash casts it again): a run
// still going is not started twice (two runs would write the same object), and a finished one is
// reported again with the same outcome instead of being redone. The engine is a stand-in whose
// backup stream the test ends; the pipeline and the local store are the real ones. A backup the
// agent was running when it died is reported FAILED, with the reason, by the next agent.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { createLogger } from '../src/common/log.js';
import { ObjectDirectory } from '../src/common/object-directory.js';
import type { Stub } from '../src/rpc/contract.js';
import type { ConductorContract } from '../src/rpc/contracts/conductor.js';
import { guestContract } from '../src/rpc/contracts/guest.js';
import { backupDefaults } from './backup/config.js';
import { backupHandlers, INTERRUPTED_REASON, reportInterruptedBackups } from './backup-handlers.js';
import type { Engine } from './capabilities.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const ctx = { context: {}, method: 'create_backup' };
const until = async (what: () => boolean) => {
  for (const deadline = Date.now() + 10_000; !what();) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('a repeated create_backup: not run twice while running; a finished one reported again, not redone', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'backup-handlers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const streams: PassThrough[] = [];
  const engine = {
    name: 'mariadb',
    backup: {
      backupStream: async () => {
        const s = new PassThrough();
        streams.push(s);
        return { stream: s, format: 'xbstream' };
      },
    },
  } as unknown as Engine;
  const reports: Record<string, unknown>[] = [];
  const conductor = { update_backup: async (a: Record<string, unknown>) => void reports.push(a) } as unknown as Stub<ConductorContract>;
  const h = backupHandlers({ instanceId: 'i-1', engine, conductor, log, config: backupDefaults.parse({ backup_local_dir: dir }) });
  const args = guestContract.create_backup.args.parse({ backup_info: { id: 'b-1', instance_id: 'i-1', storage_driver: 'local' } });

  await h.create_backup(args, ctx);
  await until(() => streams.length === 1);
  await h.create_backup(args, ctx); // resent while the first run streams
  streams[0]!.end(Buffer.alloc(64 * 1024, 7));
  await until(() => reports.length === 1);
  t.is(streams.length, 1);
  t.like(reports[0], { backup_id: 'b-1', state: 'COMPLETED', success: true });
  const objects = await new ObjectDirectory(dir).listObjects('database_backups');
  t.deepEqual(
    objects.map((o) => o.name),
    ['b-1.xbstream.zst'],
  );

  await h.create_backup(args, ctx); // resent after it finished
  await until(() => reports.length === 2);
  t.is(streams.length, 1);
  const { sent: _a, ...first } = reports[0]!;
  const { sent: _b, ...again } = reports[1]!;
  t.deepEqual(again, first);
});

test('a backup running when the agent died is reported FAILED with the reason by the next agent, once', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'backup-handlers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const runningFile = path.join(dir, 'running-backups.json');
  const streams: PassThrough[] = [];
  const engine = {
    name: 'mariadb',
    backup: { backupStream: async () => (streams.push(new PassThrough()), { stream: streams.at(-1)!, format: 'xbstream' }) },
  } as unknown as Engine;
  const reports: Record<string, unknown>[] = [];
  const conductor = { update_backup: async (a: Record<string, unknown>) => void reports.push(a) } as unknown as Stub<ConductorContract>;
  const config = backupDefaults.parse({ backup_local_dir: dir });
  const h = backupHandlers({ instanceId: 'i-1', engine, conductor, log, config, runningFile });
  const parse = (id: string) => guestContract.create_backup.args.parse({ backup_info: { id, instance_id: 'i-1', storage_driver: 'local' } });

  await h.create_backup(parse('b-done'), ctx);
  await until(() => streams.length === 1);
  streams[0]!.end(Buffer.alloc(1024, 1));
  await until(() => reports.length === 1);
  await h.create_backup(parse('b-cut'), ctx);
  await until(() => streams.length === 2);
  t.deepEqual(JSON.parse(readFileSync(runningFile, 'utf8')), ['b-cut'], 'only the backup still running is kept');
  // the agent dies here (its stream never ends); the next one starts
  const next: Record<string, unknown>[] = [];
  const nextConductor = { update_backup: async (a: Record<string, unknown>) => void next.push(a) } as unknown as Stub<ConductorContract>;
  t.deepEqual(await reportInterruptedBackups({ instanceId: 'i-1', conductor: nextConductor, log, runningFile }), ['b-cut']);
  t.is(next.length, 1);
  t.like(next[0], { instance_id: 'i-1', backup_id: 'b-cut', state: 'FAILED', success: false, fail_reason: INTERRUPTED_REASON });
  t.false(existsSync(runningFile));
  t.deepEqual(await reportInterruptedBackups({ instanceId: 'i-1', conductor: nextConductor, log, runningFile }), [], 'reported once');
  streams[1]!.destroy(new Error('the engine went away'));
  await until(() => reports.length === 2); // this (dead) agent's own end of the run, before the directory goes
});

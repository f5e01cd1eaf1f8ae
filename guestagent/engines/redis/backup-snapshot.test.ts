// The RDB snapshot of a backup when another save starts between the agent's check and its BGSAVE
// (a second backup, a replica's first sync): Redis answers "Background save already in
// progress", and the backup waits for that save and takes its own instead of failing. A fake
// client replays that order of events, which on a real server happens only sometimes.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/common/log.js';
import { RedisBackup } from './backup.js';
import type { RedisLifecycle } from './lifecycle.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

/** A server on which a save starts just after each of the first `racedCalls` checks. */
function racingServer(dir: string, racedCalls: number) {
  let saves = 0;
  let running = 0; // INFO calls for which the raced save still shows as running
  const calls: string[] = [];
  const info = () => [`rdb_bgsave_in_progress:${running > 0 ? 1 : 0}`, `rdb_saves:${saves}`, 'rdb_last_bgsave_status:ok'].join('\r\n') + '\r\n';
  const r = {
    info: async () => {
      if (running > 0 && --running === 0) saves++;
      return info();
    },
    call: async (...args: string[]) => {
      calls.push(args.join(' '));
      if (args[0] === 'BGSAVE') {
        if (calls.filter((c) => c.startsWith('BGSAVE')).length <= racedCalls) {
          running = 3; // someone else's save started after our check
          throw new Error('ERR Background save already in progress');
        }
        running = 2;
        return 'Background saving scheduled';
      }
      if (args[0] === 'CONFIG' && args[2] === 'dir') return ['dir', dir];
      if (args[0] === 'CONFIG' && args[2] === 'dbfilename') return ['dbfilename', 'dump.rdb'];
      throw new Error(`unexpected ${args.join(' ')}`);
    },
  };
  const lifecycle = { admin: { run: <T>(fn: (c: typeof r) => Promise<T>) => fn(r) } } as unknown as RedisLifecycle;
  return { lifecycle, calls, saves: () => saves };
}

test('a save started between the check and BGSAVE is waited for, then the backup takes its own', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-snapshot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'dump.rdb'), 'REDIS0011');
  const server = racingServer(dir, 2);
  const backup = new RedisBackup(dir, server.lifecycle, log, 30_000);
  const { stream } = await backup.backupStream();
  stream.destroy();
  t.deepEqual(
    server.calls.filter((c) => c.startsWith('BGSAVE')),
    ['BGSAVE SCHEDULE', 'BGSAVE SCHEDULE', 'BGSAVE SCHEDULE'],
    'tried again after each refusal',
  );
  t.is(server.saves(), 3, "the two others' saves and then its own");
});

test('any other BGSAVE error fails the backup with it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-snapshot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lifecycle = {
    admin: {
      run: <T>(fn: (c: unknown) => Promise<T>) =>
        fn({
          info: async () => 'rdb_bgsave_in_progress:0\r\nrdb_saves:0\r\nrdb_last_bgsave_status:ok\r\n',
          call: async () => {
            throw new Error('MISCONF Errors writing to the RDB file');
          },
        }),
    },
  } as unknown as RedisLifecycle;
  await t.throwsAsync(new RedisBackup(dir, lifecycle, log, 30_000).backupStream(), { message: /MISCONF/ });
});

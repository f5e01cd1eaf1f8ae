// Backups of a Redis server: an RDB snapshot. The server writes it itself (BGSAVE from a fork: a
// consistent point in time while clients keep writing), and the finished file is streamed. Not
// `redis-cli --rdb -`: Redis 7.0's redis-cli leaves the diskless-sync EOF marker at the end of its
// stdout, and waits out repl-diskless-sync-delay first. Restore: the RDB is written into a
// staging directory on the data volume, then the server is stopped, the RDB becomes its dump file
// and the AOF is removed (with AOF on the server would load that instead), the server starts with
// AOF off so it loads the RDB, and AOF is switched back on (CONFIG SET, which rewrites the AOF
// from the loaded data). The ACL file (the agent's user, root's password) lives outside the data
// and is never in a backup: the instance keeps its own.
import { createReadStream, createWriteStream, openSync, readSync, closeSync, renameSync, chmodSync, chownSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { Redis } from 'ioredis';
import type { Logger } from '../../../src/common/log.js';
import type { Backup, BackupStreamSource, RestoreStreamSink } from '../../capabilities.js';
import type { RedisLifecycle } from './lifecycle.js';

export const REDIS_FORMAT = 'redis-rdb';
const STAGED = 'dump.rdb';

/** INFO persistence as numbers and words. */
async function persistence(r: Redis): Promise<Record<string, string>> {
  const text = (await r.info('persistence')) as string;
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What tells a finished save from the ones before: the count of saves (Redis 7.0 and later), else the time of the last one. */
const savesOf = (p: Record<string, string>): number => Number(p.rdb_saves ?? p.rdb_last_save_time);

export class RedisBackup implements Backup {
  constructor(
    private readonly mountPoint: string,
    private readonly lifecycle: RedisLifecycle,
    private readonly log: Logger,
    /** How long a snapshot or the AOF rewrite after a restore may take. */
    private readonly timeoutMs = 6 * 3600 * 1000,
  ) {}

  /** A fresh RDB from BGSAVE (after any save already running, queued behind an AOF rewrite); its path. */
  private async snapshot(r: Redis): Promise<string> {
    const deadline = Date.now() + this.timeoutMs;
    let p: Record<string, string>;
    let before: number;
    let statusBefore: string | undefined;
    for (;;) {
      p = await persistence(r);
      // a save already running started before this backup was asked for: wait for it, then take ours
      while (p.rdb_bgsave_in_progress === '1') {
        if (Date.now() > deadline) throw new Error('timed out waiting for a running RDB save to finish');
        await sleep(200);
        p = await persistence(r);
      }
      before = savesOf(p);
      statusBefore = p.rdb_last_bgsave_status;
      // Redis before 7.0 counts no saves: the time of the last one (in seconds) tells ours, taken in a later second
      if (p.rdb_saves === undefined) await sleep(Math.max(0, (before + 1) * 1000 - Date.now()));
      try {
        await r.call('BGSAVE', 'SCHEDULE');
        break;
      } catch (err) {
        // another save (a second backup, a replica's sync) started between the check and ours: wait for it again
        if (!/already in progress/i.test((err as Error).message)) throw err;
      }
    }
    let sawRunning = false;
    for (;;) {
      await sleep(100);
      p = await persistence(r);
      if (savesOf(p) > before && p.rdb_bgsave_in_progress === '0') break;
      if (p.rdb_bgsave_in_progress === '1') sawRunning = true;
      else if (p.rdb_last_bgsave_status === 'err' && (sawRunning || statusBefore === 'ok'))
        throw new Error('the RDB snapshot (BGSAVE) failed: see the Redis log');
      if (Date.now() > deadline) throw new Error('timed out waiting for the RDB snapshot (BGSAVE)');
    }
    const [, dir] = (await r.call('CONFIG', 'GET', 'dir')) as [string, string];
    const [, file] = (await r.call('CONFIG', 'GET', 'dbfilename')) as [string, string];
    return path.join(dir, file);
  }

  async backupStream(): Promise<BackupStreamSource> {
    const file = await this.lifecycle.admin.run((r) => this.snapshot(r));
    // opened now: a later save renames a new file over the name, this stream keeps reading ours
    const stream = createReadStream('', { fd: openSync(file, 'r'), highWaterMark: 1024 * 1024 });
    this.log.info({ tool: 'BGSAVE' }, 'RDB snapshot taken, streaming it');
    return { format: REDIS_FORMAT, stream };
  }

  stagingDir(backupId: string): string {
    return path.join(this.mountPoint, `.restore-${backupId.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  }

  async restoreStream(format: string, stagingDir: string): Promise<RestoreStreamSink> {
    if (format !== REDIS_FORMAT) throw new Error(`a Redis engine cannot restore a backup of format '${format}'`);
    const stream = createWriteStream(path.join(stagingDir, STAGED), { mode: 0o600 });
    return { stream, done: finished(stream) };
  }

  async installRestored(format: string, stagingDir: string): Promise<void> {
    if (format !== REDIS_FORMAT) throw new Error(`a Redis engine cannot restore a backup of format '${format}'`);
    const staged = path.join(stagingDir, STAGED);
    const head = Buffer.alloc(5);
    const fd = openSync(staged, 'r');
    try {
      readSync(fd, head, 0, 5, 0);
    } finally {
      closeSync(fd);
    }
    if (head.toString('latin1') !== 'REDIS') throw new Error('the backup is not a Redis RDB file');
    const dataDir = this.lifecycle.paths.dataDir;
    await this.lifecycle.stop();
    // with AOF on, the server loads the AOF and ignores the RDB: the old AOF goes
    await rm(path.join(dataDir, 'appendonlydir'), { recursive: true, force: true });
    await rm(path.join(dataDir, 'appendonly.aof'), { force: true });
    const dump = path.join(dataDir, 'dump.rdb');
    renameSync(staged, dump);
    chmodSync(dump, 0o600);
    const u = this.lifecycle.user();
    if (u) chownSync(dump, u.uid, u.gid);
    await this.lifecycle.start(['--appendonly', 'no']);
    await this.lifecycle.admin.run(async (r) => {
      const keys = [...String(await r.info('keyspace')).matchAll(/keys=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
      this.log.info({ keys }, 'RDB loaded');
      await this.enableAof(r);
    });
    this.log.info({}, 'RDB backup installed; AOF rewritten from it');
  }

  /**
   * AOF on again as redis.conf says: CONFIG SET starts a rewrite from the loaded data; wait until it
   * is on disk. Redis 7.0 counts rewrites (aof_rewrites); before 7.0, this server (started for the
   * restore, AOF off) has made none until it reports how long its last one took.
   */
  private async enableAof(r: Redis): Promise<void> {
    const rewrites = (p: Record<string, string>) => Number(p.aof_rewrites ?? (p.aof_last_rewrite_time_sec === '-1' ? 0 : 1));
    const before = rewrites(await persistence(r));
    await r.call('CONFIG', 'SET', 'appendonly', 'yes');
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const p = await persistence(r);
      if (p.aof_rewrite_in_progress === '0' && p.aof_rewrite_scheduled === '0') {
        if (rewrites(p) > before) return;
        if (p.aof_last_bgrewrite_status === 'err') throw new Error('rewriting the AOF from the restored data failed: see the Redis log');
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for the AOF rewrite after the restore');
      await sleep(100);
    }
  }
}

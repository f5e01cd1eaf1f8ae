// An in-place upgrade of a Redis server: its data written to disk first (an AOF rewrite when the
// server keeps an AOF, as the agent's redis.conf says, else SAVE), the server stopped, a copy kept
// of its data directory, redis.conf and ACL file, then the target version's build started on the
// same config and data. The new server must report the target version and have loaded the data:
// as many keys as before (less those that could have expired meanwhile) on a source, the link to
// its source up again on a replica (which then catches up). Any failure stops the new server, puts
// the copies back and starts the old build: the instance is as it was, and the error says why in
// the server's words (its log's reason lines).
import type { Redis } from 'ioredis';
import type { Logger } from '../../../src/common/log.js';
import type { Upgrade } from '../../capabilities.js';
import { EngineFailure, errorTail, logOffset } from '../../platform/error-tail.js';
import { switchBuild } from '../build-swap.js';
import { describeRedisBuilds, findRedisBuild } from './binaries.js';
import type { RedisConfig } from './config.js';
import type { RedisLifecycle } from './lifecycle.js';
import { parseInfo } from './metrics.js';
import { replicationInfo } from './replication.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An INFO section, field by field (metrics.ts parseInfo). */
const infoOf = async (r: Redis, section: string): Promise<Record<string, string>> => Object.fromEntries(parseInfo(String(await r.info(section))));

/** INFO keyspace: per database, its keys and how many of them have a TTL. */
type Keyspace = Record<string, { keys: number; expires: number }>;

const keyspaceOf = async (r: Redis): Promise<Keyspace> =>
  Object.fromEntries(
    Object.entries(await infoOf(r, 'keyspace')).map(([db, v]) => [
      db,
      { keys: Number(/keys=(\d+)/.exec(v)?.[1] ?? 0), expires: Number(/expires=(\d+)/.exec(v)?.[1] ?? 0) },
    ]),
  );

export class RedisUpgrade implements Upgrade {
  constructor(
    private readonly c: RedisConfig,
    private readonly lc: RedisLifecycle,
    private readonly log: Logger,
  ) {}

  async upgrade(version: string): Promise<{ version: string }> {
    const target = await findRedisBuild(this.c, version);
    if (!target)
      throw new EngineFailure(`No build of Redis ${version} is installed on this server (found: ${await describeRedisBuilds(this.c)}); nothing was changed.`);
    const oldVersion = await this.lc.admin.run(async (r) => (await infoOf(r, 'server')).redis_version ?? 'its old version');
    const replica = this.lc.isReplica();
    const keys = await this.persist();
    const p = this.lc.paths;
    this.log.info({ from: oldVersion, to: version, server: target.server }, 'upgrade: stopping the server');
    const from = logOffset(p.logFile);
    return switchBuild(this.lc, {
      target,
      keep: [p.dataDir, p.conf, p.aclFile],
      from: `Redis ${oldVersion}`,
      to: version,
      log: this.log,
      check: () => this.check(version, keys, replica, from),
    });
  }

  /**
   * Everything on disk before the server stops: an AOF rewrite waited for when the server keeps an
   * AOF (a shutdown then only appends what came since), else SAVE. Answers the keyspace then.
   */
  private persist(): Promise<Keyspace> {
    return this.lc.admin.run(async (r) => {
      const [, aof] = (await r.call('CONFIG', 'GET', 'appendonly')) as [string, string];
      if (aof === 'yes') {
        const from = logOffset(this.lc.paths.logFile);
        await r.call('BGREWRITEAOF').catch((err: Error) => {
          if (!/already in progress/i.test(err.message)) throw err;
        });
        for (const deadline = Date.now() + this.c.save_timeout * 1000; ; await sleep(200)) {
          const i = await infoOf(r, 'persistence');
          if (i.aof_rewrite_in_progress === '0' && i.aof_rewrite_scheduled === '0') {
            if (i.aof_last_bgrewrite_status !== 'ok') {
              const said = errorTail(this.lc.paths.logFile, 'hash', from);
              throw new EngineFailure(`Redis could not rewrite its append-only file before the upgrade (nothing was changed)${said ? `: ${said}` : ''}`);
            }
            break;
          }
          if (Date.now() > deadline)
            throw new EngineFailure(`Redis did not finish rewriting its append-only file within save_timeout (${this.c.save_timeout} s); nothing was changed.`);
        }
      } else {
        await r.call('SAVE').catch((err: Error) => {
          throw new EngineFailure(`Redis could not save its data before the upgrade (nothing was changed): ${err.message}`);
        });
      }
      return keyspaceOf(r);
    });
  }

  /** The new server's version, and its data: the keys back on a source, the link to the source up on a replica. */
  private async check(version: string, before: Keyspace, replica: boolean, from: number): Promise<string> {
    const said = () => {
      const tail = errorTail(this.lc.paths.logFile, 'hash', from);
      return tail ? `; redis-server: ${tail}` : '';
    };
    return this.lc.admin.run(async (r) => {
      const now = (await infoOf(r, 'server')).redis_version ?? '?';
      if (now !== version && !now.startsWith(`${version}.`)) throw new EngineFailure(`the new server reports Redis ${now}, not ${version}${said()}`);
      if (replica) {
        const deadline = Date.now() + this.c.replica_attach_timeout * 1000;
        for (let i = await replicationInfo(r); !(i.master_link_status === 'up' && i.master_sync_in_progress === '0'); i = await replicationInfo(r)) {
          if (Date.now() > deadline)
            throw new EngineFailure(
              `the replica's link to its source ${i.master_host}:${i.master_port} was not up again within replica_attach_timeout (${this.c.replica_attach_timeout} s; link ${i.master_link_status ?? 'none'})${said()}`,
            );
          await sleep(200);
        }
        return now;
      }
      const after = await keyspaceOf(r);
      for (const [db, b] of Object.entries(before)) {
        const got = after[db]?.keys ?? 0;
        if (got < b.keys - b.expires) throw new EngineFailure(`the new server loaded ${got} keys in ${db}, ${b.keys} before the upgrade${said()}`);
      }
      return now;
    });
  }
}

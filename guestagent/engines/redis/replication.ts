// Replication between Redis servers (Trove's RedisSyncReplication): Redis's own asynchronous
// replication (REPLICAOF, PSYNC). A source gets one ACL user per replica (`repl_` + 8 hex of
// sha256(replica id)) that can do nothing but replicate (+psync +replconf +ping: no key, no
// channel, no data command), saved to the source's ACL file (never in a backup: the ACL file lives
// outside the data). A replica is a restored backup of its source (the control plane's snapshot);
// it replicates with REPLICAOF and that account (masteruser/masterauth), which makes the source
// send it its whole dataset first (a full sync replaces the restored one: no position to find),
// then the stream of writes. Where it replicates from is in the replication file redis.conf
// includes last (a restarted replica resumes), and Redis itself refuses users' writes on a replica
// (replica-read-only: READONLY); the clients' user also loses the admin commands there, so that
// it cannot leave replication. Detaching is REPLICAOF NO ONE: the data stays, writable.
//
// Switchover and failover: make_read_only takes the write (and admin) commands from the clients'
// user, the only account users reach the data with (Redis answers NOPERM, open connections
// included), kept across restarts by a marker file. A position ("txn") is `<replid>:<offset>`:
// the replication history's id and the byte offset in it (INFO replication's master_replid and
// master_repl_offset; on a replica, the source's replid and how far it has applied). A member has
// a position when it has the same replid at an offset not lower, or when the position's replid is
// its previous history (master_replid2, kept by a replica promoted with REPLICAOF NO ONE: PSYNC2)
// and the offset is within it (below second_repl_offset). wait_for_txn polls that.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openSync, readSync, closeSync, statSync, writeFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Logger } from '../../../src/common/log.js';
import type { Replication, ReplicationMaster } from '../../capabilities.js';
import { chownAll } from '../../platform/os-user.js';
import type { RedisConfig } from './config.js';
import { renderReplication } from './conf-files.js';
import type { RedisLifecycle } from './lifecycle.js';

/** The source's account for a replica: `repl_` + the first 8 hex digits of sha256(replica id). */
export function replicationUserFor(replicaId: string): string {
  return `repl_${createHash('sha256').update(replicaId).digest('hex').slice(0, 8)}`;
}

const REPLICATION_USER = /^repl_[0-9a-f]{8}$/;
/** What a replica needs of its source, and nothing else. */
export const REPLICATION_RULES = ['+psync', '+replconf', '+ping'];
const TXN = /^([0-9a-f]{40}):(\d+)$/;
const NO_REPLID = '0'.repeat(40);

/** A position: the replication history's id and the byte offset in it. */
export interface RedisTxn {
  replid: string;
  offset: bigint;
}

export function parseTxn(txn: string): RedisTxn {
  const m = TXN.exec(txn.trim());
  if (!m) throw new Error(`not a Redis replication position ('<replid>:<offset>'): '${txn}'`);
  return { replid: m[1]!, offset: BigInt(m[2]!) };
}

/** INFO replication, field by field. */
export type ReplicationInfo = Record<string, string>;

export async function replicationInfo(r: Redis): Promise<ReplicationInfo> {
  const text = (await r.info('replication')) as string;
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

export const txnOf = (i: ReplicationInfo): string => `${i.master_replid}:${i.master_repl_offset}`;

/** Whether a server whose INFO replication is `i` holds everything up to `want` (its current history, or the one before a promotion). */
export function hasTxn(i: ReplicationInfo, want: RedisTxn): boolean {
  if (i.master_replid === want.replid && BigInt(i.master_repl_offset ?? '0') >= want.offset) return true;
  const second = BigInt(i.second_repl_offset ?? '-1');
  return Boolean(i.master_replid2) && i.master_replid2 !== NO_REPLID && i.master_replid2 === want.replid && want.offset < second;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An error without the password in it (Redis echoes some arguments back in its errors). */
const scrub = (err: unknown, secret: string): string =>
  String((err as Error)?.message ?? err)
    .split(secret)
    .join('***');

export class RedisReplication implements Replication {
  /** Redis does not replicate its ACL: each member has its own root (the `default` user), a replica too. */
  readonly localRoot = true;

  constructor(
    private readonly c: RedisConfig,
    private readonly lifecycle: RedisLifecycle,
    private readonly log: Logger,
  ) {}

  private run<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    return this.lifecycle.admin.run(fn);
  }

  async prepareSource(replicaId: string): Promise<{ port: number; user: { name: string; password: string } }> {
    const name = replicationUserFor(replicaId);
    const password = randomBytes(24).toString('base64url');
    await this.run(async (r) => {
      // made again from nothing (a connection with an older password is closed by DELUSER)
      await r.call('ACL', 'DELUSER', name);
      await r.call('ACL', 'SETUSER', name, 'reset', 'on', `>${password}`, ...REPLICATION_RULES);
      await this.lifecycle.saveAcl(r);
    }).catch((err: unknown) => {
      throw new Error(`could not create the replication account ${name}: ${scrub(err, password)}`);
    });
    this.log.info({ replica_id: replicaId, user: name }, 'replication account ready');
    return { port: this.c.port, user: { name, password } };
  }

  async removeReplica(replicaId: string): Promise<void> {
    const name = replicationUserFor(replicaId);
    await this.run(async (r) => {
      await r.call('ACL', 'DELUSER', name);
      await this.lifecycle.saveAcl(r);
    });
    this.log.info({ replica_id: replicaId, user: name }, 'replication account removed');
  }

  /** Drops the replication accounts this server has (a replica or a standalone server serves no replica). */
  private async dropReplicationUsers(r: Redis): Promise<string[]> {
    const users = ((await r.call('ACL', 'USERS')) as string[]).filter((u) => REPLICATION_USER.test(u));
    if (users.length) {
      await r.call('ACL', 'DELUSER', ...users);
      await this.lifecycle.saveAcl(r);
    }
    return users;
  }

  private writeReplicationFile(master?: ReplicationMaster): void {
    writeFileSync(this.lifecycle.paths.replicationFile, renderReplication(master), { mode: 0o600 });
    chownAll([this.lifecycle.paths.replicationFile], this.lifecycle.user());
  }

  async attach(master: ReplicationMaster): Promise<void> {
    await this.replicateFrom(master);
  }

  async follow(master: ReplicationMaster): Promise<void> {
    await this.replicateFrom(master);
  }

  /** Replicating from `master`, in the replication file too (a restart keeps it), read-only; waited for. */
  private async replicateFrom(master: ReplicationMaster): Promise<void> {
    this.writeReplicationFile(master);
    const logFrom = existsSync(this.lifecycle.paths.logFile) ? statSync(this.lifecycle.paths.logFile).size : 0;
    const dropped = await this.run(async (r) => {
      // one CONFIG SET each: Redis before 7.0 takes a single parameter
      for (const [k, v] of [
        ['masteruser', master.user],
        ['masterauth', master.password],
        ['replica-read-only', 'yes'],
      ])
        await r.call('CONFIG', 'SET', k!, v!).catch((err: unknown) => {
          throw new Error(`could not set the replication account: ${scrub(err, master.password)}`);
        });
      // users' writes are refused (READONLY) from here on
      await r.call('REPLICAOF', master.host, String(master.port));
      return this.dropReplicationUsers(r);
    });
    // the replica's limits now, make_read_only's gone: the replica is read-only by itself
    await this.lifecycle.setWritesStopped(false);
    this.log.info({ host: master.host, port: master.port, user: master.user, dropped_accounts: dropped }, 'replicating; waiting for the link to the source');
    await this.waitLinkUp(master, logFrom);
    this.log.info({ host: master.host, port: master.port }, 'replicating');
  }

  /** Until INFO replication says the link to `master` is up (the first sync loaded), at most replica_attach_timeout. */
  private async waitLinkUp(master: ReplicationMaster, logFrom: number): Promise<void> {
    const deadline = Date.now() + this.c.replica_attach_timeout * 1000;
    let i: ReplicationInfo;
    for (;;) {
      i = await this.run(replicationInfo);
      if (i.role === 'slave' && i.master_link_status === 'up' && i.master_sync_in_progress === '0') return;
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    const said = this.serverSaid(logFrom);
    const state = `role ${i.role ?? '?'}, link ${i.master_link_status ?? 'none'}${i.master_sync_in_progress === '1' ? ', first sync in progress' : ''}`;
    throw new Error(
      `replication from ${master.host}:${master.port} did not start within ${this.c.replica_attach_timeout} s (${state})${said ? `; the server says: ${said}` : ''}`,
    );
  }

  /** The server's last warning about replication since `from` in its log (Redis logs no password). */
  private serverSaid(from: number): string {
    const file = this.lifecycle.paths.logFile;
    if (!existsSync(file)) return '';
    const size = statSync(file).size;
    const start = Math.max(from, size - 64 * 1024);
    const buf = Buffer.alloc(Math.max(0, size - start));
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, buf.length, start);
    } finally {
      closeSync(fd);
    }
    const lines = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => / # /.test(l) && /MASTER|master|replica|PRIMARY|primary|AUTH|SYNC/.test(l));
    return (lines.at(-1) ?? '').replace(/^.*? # /, '').trim();
  }

  /** Replicates from nothing (REPLICAOF NO ONE, out of the config): the data stays, writable; a no-op on a source. */
  private async leaveReplication(dropAccounts: boolean): Promise<boolean> {
    const was = this.lifecycle.isReplica();
    const dropped = await this.run(async (r) => {
      const i = await replicationInfo(r);
      if (i.role === 'slave') await r.call('REPLICAOF', 'NO', 'ONE');
      if (!was && i.role !== 'slave') return [];
      await r.call('CONFIG', 'SET', 'masteruser', '', 'masterauth', '');
      return dropAccounts ? this.dropReplicationUsers(r) : [];
    });
    this.writeReplicationFile();
    await this.lifecycle.setWritesStopped(false);
    if (dropped.length) this.log.info({ dropped_accounts: dropped }, 'replication accounts dropped');
    return was;
  }

  async detach(): Promise<void> {
    const was = await this.leaveReplication(true);
    this.log.info({ was_replica: was }, 'detached from the replication source');
  }

  async isReplica(): Promise<boolean> {
    return this.lifecycle.isReplica();
  }

  async makeReadOnly(readOnly: boolean): Promise<void> {
    await this.lifecycle.setWritesStopped(readOnly);
    this.log.info({ read_only: readOnly, replica: this.lifecycle.isReplica() }, readOnly ? "users' writes stopped" : "users' writes allowed again");
  }

  async isReadOnly(): Promise<boolean> {
    return this.lifecycle.writesStopped();
  }

  /** `<master_replid>:<master_repl_offset>` (40 hex, a decimal byte offset). */
  async lastTxn(): Promise<string> {
    return txnOf(await this.run(replicationInfo));
  }

  async waitForTxn(txn: string, timeoutS: number): Promise<void> {
    const want = parseTxn(txn);
    const started = Date.now();
    const deadline = started + Math.max(0, timeoutS) * 1000;
    let i: ReplicationInfo;
    for (;;) {
      i = await this.run(replicationInfo);
      if (hasTxn(i, want)) {
        this.log.info({ txn, wait_ms: Date.now() - started }, 'caught up with the transaction');
        return;
      }
      if (Date.now() >= deadline) break;
      await sleep(Math.min(100, Math.max(1, deadline - Date.now())));
    }
    const before = i.master_replid2 && i.master_replid2 !== NO_REPLID ? ` (and '${i.master_replid2}' below offset ${i.second_repl_offset})` : '';
    const link = i.role === 'slave' ? `it replicates from ${i.master_host}:${i.master_port}, link ${i.master_link_status}` : 'it replicates from nothing';
    throw new Error(`this server did not reach the transaction '${txn.trim()}' within ${timeoutS} s: it is at '${txnOf(i)}'${before}; ${link}`);
  }

  async enableAsSource(): Promise<void> {
    const was = await this.leaveReplication(false);
    this.log.info({ was_replicating: was }, 'enabled as the replication source: writable, replicating from nothing');
  }
}

// Replication between MySQL-family servers with MariaDB's GTIDs (Trove's mysql_gtid / mariadb_gtid
// strategies). A source gets one account per replica (`repl_` + 8 hex of the replica's id, REPLICATION
// SLAVE), made outside its binary log so the password never lands in a log archive; the replica
// is a restored full backup of the source: it reads the GTID position the backup recorded
// (xtrabackup_binlog_info), replicates from there with MASTER_USE_GTID = slave_pos and stays
// read_only for users (my.cnf, so a restart keeps it; the agent's os_admin still writes). The
// replication settings live in the datadir (master.info), so a restarted replica resumes on its own.
// A source that no replica could be built for (not MariaDB, or logical backups only: no GTID
// position recorded) refuses get_replication_snapshot with NotSupportedError before anything is built.
//
// Switchover and failover (the control plane's promote and eject): any member can be made
// read-only (kept in my.cnf), tell its position (@@gtid_current_pos, as `domain-server-seq,...`
// sorted by domain: see compareGtidPositions for how two compare), wait for a position
// (MASTER_GTID_WAIT, bounded), become the source (no replication, writable), or follow a new
// source from the position it has: the former source, which never replicated, first takes its
// own binary log position as its replication position, so that it neither applies again nor skips
// a transaction.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Connection } from 'mysql2/promise';
import type { Logger } from '../../../src/common/log.js';
import { NotSupportedError, type Replication, type ReplicationMaster } from '../../capabilities.js';
import { generatePassword, REPLICATION_USER_PATTERN } from './admin.js';
import type { MysqlLifecycle } from './lifecycle.js';
import type { MysqlFamilyConfig } from './settings.js';

/** What replication needs of the backups: a replica is built from a physical one (it records the GTID position). */
export interface SnapshotMethod {
  method(): 'xbstream' | 'sql';
}

/** The source's account for a replica: `repl_` + the first 8 hex digits of sha256(replica id). */
export function replicationUserFor(replicaId: string): string {
  return `repl_${createHash('sha256').update(replicaId).digest('hex').slice(0, 8)}`;
}

/** The files mariadb-backup writes into the backup (so into a restored datadir): `<binlog file> <position> <gtid list>`. */
const BINLOG_INFO_FILES = ['mariadb_backup_binlog_info', 'xtrabackup_binlog_info'];
const GTID_LIST = /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/;

/** A GTID position as `domain-server-seq` entries, one per domain, sorted by domain, no spaces ('' for none). */
export function normalGtidPosition(pos: string): string {
  const entries = pos.replace(/\s+/g, '').split(',').filter(Boolean);
  for (const e of entries) if (!/^\d+-\d+-\d+$/.test(e)) throw new Error(`not a GTID position: '${pos}'`);
  return entries.sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0])).join(',');
}

/**
 * How two positions of one replication set compare (the rule the README gives the control plane):
 * per domain, the higher sequence number is the newer (a server writing in a domain takes the
 * domain's highest sequence number plus one, whichever server wrote before); a domain missing is
 * sequence 0; one sequence number from two servers is a divergence. Positive: `a` has something
 * `b` lacks and not the reverse; negative: the reverse; 0: the same; NaN: diverged (each has
 * something the other lacks).
 */
export function compareGtidPositions(a: string, b: string): number {
  const gtids = (p: string) =>
    new Map(
      normalGtidPosition(p)
        .split(',')
        .filter(Boolean)
        .map((e) => {
          const [d, server, q] = e.split('-');
          return [d!, { server: server!, seq: BigInt(q!) }] as const;
        }),
    );
  const x = gtids(a);
  const y = gtids(b);
  let ahead = false;
  let behind = false;
  for (const d of new Set([...x.keys(), ...y.keys()])) {
    const p = x.get(d);
    const q = y.get(d);
    const [ps, qs] = [p?.seq ?? 0n, q?.seq ?? 0n];
    if (ps > qs) ahead = true;
    else if (ps < qs) behind = true;
    else if (p && q && p.server !== q.server) return NaN;
  }
  return ahead && behind ? NaN : ahead ? 1 : behind ? -1 : 0;
}

/** The GTID position a restored physical backup stops at (where its replica starts replicating). */
export function restoredGtidPosition(dataDir: string): string {
  for (const name of BINLOG_INFO_FILES) {
    const file = path.join(dataDir, name);
    if (!existsSync(file)) continue;
    const gtid = readFileSync(file, 'utf8').trim().split(/\s+/).slice(2).join('');
    if (!GTID_LIST.test(gtid)) throw new Error(`the restored backup records no usable GTID position (${name}: '${gtid}')`);
    return gtid;
  }
  throw new Error('the restored backup records no GTID position (xtrabackup_binlog_info): a replica needs a physical backup (mariadb-backup) of its source');
}

interface SlaveStatus {
  Slave_IO_Running: string;
  Slave_SQL_Running: string;
  Last_IO_Error: string;
  Last_SQL_Error: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Seconds between a replica's attempts to reach its source (MariaDB's default is 60). */
const CONNECT_RETRY = 10;
/** How long both replication threads must keep running before an attach counts as done. */
const RUNNING_SETTLE_MS = 1000;

export class MysqlReplication implements Replication {
  constructor(
    private readonly c: MysqlFamilyConfig,
    private readonly lifecycle: MysqlLifecycle,
    private readonly backup: SnapshotMethod,
    private readonly log: Logger,
  ) {}

  /** Refuses (Trove's 501) what no replica could be built for, before the control plane builds one. */
  private async checkReplicable(c: Connection): Promise<void> {
    const [[v]] = (await c.query('SELECT VERSION() AS v, @@log_bin AS bin')) as unknown as [[{ v: string; bin: number }]];
    if (!/MariaDB/i.test(v.v)) throw new NotSupportedError('Replication is supported for MariaDB servers only by this guest agent.');
    if (this.backup.method() !== 'xbstream')
      throw new NotSupportedError('Replicas are built from a physical backup (mariadb-backup) of their source, and this instance takes logical backups only.');
    if (Number(v.bin) !== 1)
      throw new Error('binary logging is off on this server, so it cannot be replicated from: restart the instance (its my.cnf turns it on) and try again');
  }

  private async run<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    const c = await this.lifecycle.admin.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** The GTID verbs are MariaDB's (@@gtid_current_pos, MASTER_GTID_WAIT). */
  private async checkMariadb(c: Connection): Promise<void> {
    const [[v]] = (await c.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
    if (!/MariaDB/i.test(v.v)) throw new NotSupportedError('Replication is supported for MariaDB servers only by this guest agent.');
  }

  private async slaveStatus(c: Connection): Promise<SlaveStatus | undefined> {
    const [rows] = await c.query('SHOW SLAVE STATUS');
    return (rows as SlaveStatus[])[0];
  }

  async prepareSource(replicaId: string): Promise<{ port: number; user: { name: string; password: string } }> {
    const name = replicationUserFor(replicaId);
    const password = generatePassword();
    await this.run(async (c) => {
      await this.checkReplicable(c);
      // this server's own account: not in its binary log (no password in the archived logs)
      await c.query('SET SESSION sql_log_bin = 0');
      await c.query("DROP USER IF EXISTS ?@'%'", [name]);
      await c.query("CREATE USER ?@'%' IDENTIFIED BY ?", [name, password]).catch((err: Error) => {
        throw new Error(`could not create the replication account ${name}: ${err.message}`); // not mysql2's error: it carries the statement
      });
      await c.query("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ?@'%'", [name]);
    });
    this.log.info({ replica_id: replicaId, user: name }, 'replication account ready');
    return { port: this.c.port, user: { name, password } };
  }

  async removeReplica(replicaId: string): Promise<void> {
    const name = replicationUserFor(replicaId);
    await this.run(async (c) => {
      await c.query('SET SESSION sql_log_bin = 0');
      await c.query("DROP USER IF EXISTS ?@'%'", [name]);
    });
    this.log.info({ replica_id: replicaId, user: name }, 'replication account removed');
  }

  async attach(master: ReplicationMaster): Promise<void> {
    const gtid = restoredGtidPosition(this.lifecycle.paths.dataDir);
    await this.run((c) => this.checkMariadb(c));
    await this.replicateFrom(master, async () => gtid);
  }

  async follow(master: ReplicationMaster): Promise<void> {
    await this.run((c) => this.checkMariadb(c));
    // What this server has applied, whether it replicated it (a replica: gtid_slave_pos) or wrote
    // it itself (the former source: its binary log, gtid_slave_pos empty or stale): MariaDB's
    // gtid_current_pos takes, per domain, the binary log's GTID when this server wrote it and is
    // newer, else the replication position. Replicating from there applies nothing twice and
    // skips nothing the new source has after it.
    await this.replicateFrom(master, async (c) => {
      const [[p]] = (await c.query('SELECT @@GLOBAL.gtid_current_pos AS pos')) as unknown as [[{ pos: string }]];
      return normalGtidPosition(p.pos);
    });
  }

  /** Read-only, replication reset and started at `position()` (read once replication is stopped), waited for. */
  private async replicateFrom(master: ReplicationMaster, position: (c: Connection) => Promise<string>): Promise<void> {
    // read-only before the first replicated event: no user write ever lands on the replica (whose
    // read_only is the replica's from now on, not a make_read_only's before a switchover)
    await this.lifecycle.setReplica(true);
    await this.lifecycle.setWritesStopped(false);
    const gtid = await this.run(async (c) => {
      if (await this.slaveStatus(c)) {
        await c.query('STOP SLAVE');
        await c.query('RESET SLAVE ALL');
      }
      const gtid = await position(c);
      await c.query('SET GLOBAL gtid_slave_pos = ?', [gtid]);
      await c
        .query(
          'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = ?',
          [master.host, master.port, master.user, master.password, CONNECT_RETRY],
        )
        .catch((err: Error) => {
          throw new Error(`CHANGE MASTER TO ${master.host}:${master.port} failed: ${err.message}`); // not mysql2's error: it carries the statement
        });
      await c.query('START SLAVE');
      return gtid;
    });
    this.log.info({ host: master.host, port: master.port, user: master.user, gtid }, 'replica attached; waiting for replication to run');
    try {
      await this.waitReplicating(master);
    } catch (err) {
      await this.run((c) => c.query('STOP SLAVE')).catch(() => undefined);
      throw err;
    }
    this.log.info({ host: master.host, port: master.port }, 'replicating');
  }

  /**
   * Until both threads run ('Yes') and still do a moment later (the IO thread says 'Yes' once
   * connected, before the source answers its position: a source lacking it refuses just after);
   * fails at once when one stopped with an error, else after replica_attach_timeout.
   */
  private async waitReplicating(master: ReplicationMaster): Promise<void> {
    const deadline = Date.now() + this.c.replica_attach_timeout * 1000;
    let runningSince: number | undefined;
    for (;;) {
      const s = await this.run((c) => this.slaveStatus(c));
      if (s?.Slave_IO_Running === 'Yes' && s.Slave_SQL_Running === 'Yes') {
        runningSince ??= Date.now();
        if (Date.now() - runningSince >= RUNNING_SETTLE_MS) return;
        await sleep(250);
        continue;
      }
      runningSince = undefined;
      const errors = [s?.Last_IO_Error, s?.Last_SQL_Error].filter(Boolean).join('; ');
      // a thread stopped with an error will not recover by itself; one still starting ('No' for a moment, 'Connecting') may
      const stopped = !s || (s.Slave_IO_Running === 'No' && Boolean(s.Last_IO_Error)) || (s.Slave_SQL_Running === 'No' && Boolean(s.Last_SQL_Error));
      if (stopped || Date.now() > deadline) {
        const why = `IO thread ${s?.Slave_IO_Running ?? 'none'}, SQL thread ${s?.Slave_SQL_Running ?? 'none'}${errors ? `: ${errors}` : ''}`;
        throw new Error(
          `replication from ${master.host}:${master.port} ${stopped ? 'stopped' : `did not start within ${this.c.replica_attach_timeout} s`} (${why})`,
        );
      }
      await sleep(250);
    }
  }

  async detach(): Promise<void> {
    const wasReplica = await this.run(async (c) => {
      const had = (await this.slaveStatus(c)) !== undefined;
      if (had) {
        await c.query('STOP SLAVE');
        await c.query('RESET SLAVE ALL');
      }
      if (!had && !this.lifecycle.isReplica()) return false;
      // the source's replication accounts came with its backup: a standalone server keeps none
      await c.query('SET SESSION sql_log_bin = 0');
      const [rows] = await c.query('SELECT User AS name, Host AS host FROM mysql.user WHERE User REGEXP ?', [REPLICATION_USER_PATTERN]);
      for (const r of rows as Array<{ name: string; host: string }>) await c.query('DROP USER IF EXISTS ?@?', [r.name, r.host]);
      return true;
    });
    await this.lifecycle.setReplica(false);
    await this.lifecycle.setWritesStopped(false);
    this.log.info({ was_replica: wasReplica }, 'detached from the replication source');
  }

  async isReplica(): Promise<boolean> {
    return this.lifecycle.isReplica();
  }

  async makeReadOnly(readOnly: boolean): Promise<void> {
    await this.lifecycle.setWritesStopped(readOnly);
    this.log.info({ read_only: readOnly, replica: this.lifecycle.isReplica() }, readOnly ? "users' writes stopped" : "users' writes allowed again");
  }

  async isReadOnly(): Promise<boolean> {
    return this.lifecycle.areWritesStopped();
  }

  /** `domain-server-seq[,...]`, sorted by domain ('' when the server has no transaction): its @@gtid_current_pos. */
  async lastTxn(): Promise<string> {
    return this.run(async (c) => {
      await this.checkMariadb(c);
      const [[p]] = (await c.query('SELECT @@GLOBAL.gtid_current_pos AS pos')) as unknown as [[{ pos: string }]];
      return normalGtidPosition(p.pos);
    });
  }

  async waitForTxn(txn: string, timeoutS: number): Promise<void> {
    const wanted = normalGtidPosition(txn);
    if (!wanted) return; // nothing to wait for
    const started = Date.now();
    const result = await this.run(async (c) => {
      await this.checkMariadb(c);
      // MASTER_GTID_WAIT returns -1 after the timeout; the query's own timer is a guard on top of it
      const [[r]] = (await c.query({ sql: 'SELECT MASTER_GTID_WAIT(?, ?) AS r', timeout: (timeoutS + 10) * 1000 }, [wanted, timeoutS])) as unknown as [
        [{ r: number | null }],
      ];
      return r.r === null ? null : Number(r.r);
    });
    if (result === 0) {
      this.log.info({ txn: wanted, wait_ms: Date.now() - started }, 'caught up with the transaction');
      return;
    }
    const where = await this.run(async (c) => {
      const [[p]] = (await c.query('SELECT @@GLOBAL.gtid_slave_pos AS pos')) as unknown as [[{ pos: string }]];
      const s = await this.slaveStatus(c);
      const errors = [s?.Last_IO_Error, s?.Last_SQL_Error].filter(Boolean).join('; ');
      return `it has applied '${normalGtidPosition(p.pos)}'; ${s ? `IO thread ${s.Slave_IO_Running}, SQL thread ${s.Slave_SQL_Running}${errors ? `: ${errors}` : ''}` : 'it replicates from nothing'}`;
    });
    throw new Error(`this server did not reach the transaction '${wanted}' within ${timeoutS} s: ${where}`);
  }

  async enableAsSource(): Promise<void> {
    const was = await this.run(async (c) => {
      await this.checkReplicable(c);
      const had = (await this.slaveStatus(c)) !== undefined;
      if (had) {
        await c.query('STOP SLAVE');
        await c.query('RESET SLAVE ALL');
      }
      return had;
    });
    await this.lifecycle.setReplica(false);
    await this.lifecycle.setWritesStopped(false);
    this.log.info({ was_replicating: was }, 'enabled as the replication source: writable, replicating from nothing');
  }
}

// Replication between MySQL-family servers with MariaDB's GTIDs (Trove's mysql_gtid / mariadb_gtid
// strategies). A source gets one account per replica (`repl_` + 8 hex of the replica's id, REPLICATION
// SLAVE), made outside its binary log so the password never lands in a log archive; the replica
// is a restored full backup of the source: it reads the GTID position the backup recorded
// (xtrabackup_binlog_info), replicates from there with MASTER_USE_GTID = slave_pos and stays
// read_only for users (my.cnf, so a restart keeps it; the agent's os_admin still writes). The
// replication settings live in the datadir (master.info), so a restarted replica resumes on its own.
// A source that no replica could be built for (not MariaDB, or logical backups only: no GTID
// position recorded) refuses get_replication_snapshot with NotSupportedError before anything is built.
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
    if (this.backup.method() !== 'xbstream') throw new NotSupportedError('Replicas are built from a physical backup (mariadb-backup) of their source, and this instance takes logical backups only.');
    if (Number(v.bin) !== 1) throw new Error('binary logging is off on this server, so it cannot be replicated from: restart the instance (its my.cnf turns it on) and try again');
  }

  private async run<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    const c = await this.lifecycle.admin.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
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
    await this.run(async (c) => {
      const [[v]] = (await c.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
      if (!/MariaDB/i.test(v.v)) throw new NotSupportedError('Replication is supported for MariaDB servers only by this guest agent.');
    });
    // read-only before the first replicated event: no user write ever lands on the replica
    await this.lifecycle.setReplica(true);
    await this.run(async (c) => {
      if (await this.slaveStatus(c)) {
        await c.query('STOP SLAVE');
        await c.query('RESET SLAVE ALL');
      }
      await c.query('SET GLOBAL gtid_slave_pos = ?', [gtid]);
      await c
        .query('CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = ?', [
          master.host,
          master.port,
          master.user,
          master.password,
          CONNECT_RETRY,
        ])
        .catch((err: Error) => {
          throw new Error(`CHANGE MASTER TO ${master.host}:${master.port} failed: ${err.message}`); // not mysql2's error: it carries the statement
        });
      await c.query('START SLAVE');
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

  /** Until both threads run ('Yes'); fails at once when one stopped with an error, else after replica_attach_timeout. */
  private async waitReplicating(master: ReplicationMaster): Promise<void> {
    const deadline = Date.now() + this.c.replica_attach_timeout * 1000;
    for (;;) {
      const s = await this.run((c) => this.slaveStatus(c));
      if (s?.Slave_IO_Running === 'Yes' && s.Slave_SQL_Running === 'Yes') return;
      const errors = [s?.Last_IO_Error, s?.Last_SQL_Error].filter(Boolean).join('; ');
      // a thread stopped with an error will not recover by itself; one still starting ('No' for a moment, 'Connecting') may
      const stopped = !s || (s.Slave_IO_Running === 'No' && Boolean(s.Last_IO_Error)) || (s.Slave_SQL_Running === 'No' && Boolean(s.Last_SQL_Error));
      if (stopped || Date.now() > deadline) {
        const why = `IO thread ${s?.Slave_IO_Running ?? 'none'}, SQL thread ${s?.Slave_SQL_Running ?? 'none'}${errors ? `: ${errors}` : ''}`;
        throw new Error(`replication from ${master.host}:${master.port} ${stopped ? 'stopped' : `did not start within ${this.c.replica_attach_timeout} s`} (${why})`);
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
    this.log.info({ was_replica: wasReplica }, 'detached from the replication source');
  }

  async isReplica(): Promise<boolean> {
    return this.lifecycle.isReplica();
  }
}

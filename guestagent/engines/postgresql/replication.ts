// Streaming replication between PostgreSQL servers (Trove's PostgresqlReplication): physical WAL
// streaming. A source gets one role per replica (`repl_` + 8 hex of sha256(replica id)), LOGIN
// REPLICATION and nothing else (no superuser), a member of the NOLOGIN group trove_replication
// that pg_hba.conf lets replicate (scram-sha-256) and connect to the `postgres` database (for
// pg_rewind, which reads the source's files through the functions granted to the group; the data
// a replication account can read is the whole cluster anyway), and a physical replication slot of
// the same name reserved at once: the WAL from the backup on stays until the replica has it.
//
// A replica is a restored backup of its source: the restore ends the backup's WAL on a new timeline
// (backup.ts), so what the copy wrote on its own since is its history, not its source's; attaching
// stops it, pg_rewind against the source takes those changes back (and copies the source's WAL),
// the instance's own configuration files are put back, then standby.signal and
// conf.d/trove-replication.conf (primary_conninfo with a passfile: the password is only in a 0600
// file outside the data directory, never in a setting or a log line; primary_slot_name;
// recovery_target_timeline = latest) and a start; the attach waits until pg_stat_wal_receiver
// streams, at most [postgresql] replica_attach_timeout. A former source (after a switchover) is
// attached the same way: pg_rewind takes back what it wrote after the fork. A standby given
// another source is restarted with the new conninfo (timeline latest follows the promotion).
// PostgreSQL refuses users' writes on a standby itself (read-only transactions).
//
// Detach / enable_as_master: pg_promote() (waited for), the standby settings removed; the data stays.
// make_read_only: users cannot connect any more (pg_hba.conf rejects them, their sessions are
// terminated), kept across restarts by a marker; default_transaction_read_only would not do, a user
// can SET it off in their own session.
//
// A position ("txn") is `<timeline>:<LSN>` (timeline in decimal, LSN as PostgreSQL prints it):
// pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby, with the timeline the
// server is on. A member holds a position when it is on the same timeline at an LSN not lower, or
// when the position's timeline is an ancestor of its own (its timeline history file) that it left
// at or after that LSN: WAL an old source wrote after a promotion forked is not held by anyone else.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { readSince } from '../../../src/common/file-tail.js';
import type { Logger } from '../../../src/common/log.js';
import type { Replication, ReplicationMaster } from '../../capabilities.js';
import { chownAll, ownTree } from '../../platform/os-user.js';
import { REPLICATION_ACCOUNT } from './admin.js';
import { scramVerifier } from './scram.js';
import { confValue, INSTANCE_FILES, renderHba, REPLICATION_GROUP } from './conf-files.js';
import type { PostgresqlConfig } from './config.js';
import type { PgLifecycle } from './lifecycle.js';

const { escapeIdentifier: ident, escapeLiteral: lit } = pg;
const execFileP = promisify(execFile);

/** The source's account (and slot) for a replica: `repl_` + the first 8 hex digits of sha256(replica id). */
export function replicationUserFor(replicaId: string): string {
  return `repl_${createHash('sha256').update(replicaId).digest('hex').slice(0, 8)}`;
}

/** The functions pg_rewind calls on its source (PostgreSQL's documentation), granted to the replication group. */
const REWIND_FUNCTIONS = [
  'pg_catalog.pg_ls_dir(text, boolean, boolean)',
  'pg_catalog.pg_stat_file(text, boolean)',
  'pg_catalog.pg_read_binary_file(text)',
  'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)',
];

const TXN = /^(\d+):([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})$/;

export interface PgTxn {
  timeline: number;
  lsn: bigint;
}

export const lsnToBig = (lsn: string): bigint => {
  const [hi, lo] = lsn.split('/') as [string, string];
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
};

export function parseTxn(txn: string): PgTxn {
  const m = TXN.exec(txn.trim());
  if (!m) throw new Error(`not a PostgreSQL replication position ('<timeline>:<LSN>'): '${txn}'`);
  return { timeline: Number(m[1]), lsn: lsnToBig(m[2]!) };
}

/** Where a server is: its timeline, its LSN, and where it left each ancestor timeline (its history file). */
export interface PgPosition {
  timeline: number;
  lsn: string;
  /** ancestor timeline → the LSN its history switched off it */
  history: Map<number, bigint>;
}

/** A timeline history file's lines: `<parent tli>\t<switchpoint>\t<reason>`. */
export function parseHistory(text: string): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(line);
    if (m) out.set(Number(m[1]), lsnToBig(m[2]!));
  }
  return out;
}

export function hasTxn(p: PgPosition, want: PgTxn): boolean {
  const mine = lsnToBig(p.lsn);
  if (p.timeline === want.timeline) return mine >= want.lsn;
  const left = p.history.get(want.timeline);
  return left !== undefined && want.lsn <= left && mine >= want.lsn;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const scrub = (s: string, secret: string): string => (secret ? s.split(secret).join('***') : s);
/** A libpq connection-string value, quoted. */
const connValue = (v: string | number): string => `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/** A .pgpass field: `:` and `\` escaped. */
const passField = (v: string | number): string => String(v).replace(/\\/g, '\\\\').replace(/:/g, '\\:');

export class PgReplication implements Replication {
  constructor(
    private readonly c: PostgresqlConfig,
    private readonly lifecycle: PgLifecycle,
    private readonly log: Logger,
  ) {}

  private get paths() {
    return this.lifecycle.paths;
  }

  private run<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    return this.lifecycle.admin.run(fn);
  }

  async prepareSource(replicaId: string): Promise<{ port: number; user: { name: string; password: string } }> {
    const name = replicationUserFor(replicaId);
    const password = randomBytes(24).toString('base64url');
    await this.run(async (c) => {
      // one at a time (replicas are made in parallel: concurrent GRANTs on one function collide); released with the session
      await c.query("SELECT pg_advisory_lock(hashtext('trove_replication'))");
      if (!(await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [REPLICATION_GROUP])).rowCount) {
        await c.query(`CREATE ROLE ${ident(REPLICATION_GROUP)} NOLOGIN`);
      }
      for (const f of REWIND_FUNCTIONS) await c.query(`GRANT EXECUTE ON FUNCTION ${f} TO ${ident(REPLICATION_GROUP)}`);
      const exists = (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount;
      // the password goes as a SCRAM verifier (a statement log never shows it)
      const attrs = `LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD ${lit(scramVerifier(password) ?? password)}`;
      if (exists) await c.query(`ALTER ROLE ${ident(name)} WITH ${attrs}`);
      else await c.query(`CREATE ROLE ${ident(name)} WITH ${attrs}`);
      await c.query(`GRANT ${ident(REPLICATION_GROUP)} TO ${ident(name)}`);
      // a new password: sessions with the old one go
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [name]);
      if (!(await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [name])).rowCount) {
        await c.query('SELECT pg_create_physical_replication_slot($1, true)', [name]);
      }
    }).catch((err: unknown) => {
      throw new Error(`could not create the replication account ${name}: ${scrub(String((err as Error)?.message ?? err), password)}`);
    });
    this.log.info({ replica_id: replicaId, user: name }, 'replication account and slot ready');
    return { port: this.c.port, user: { name, password } };
  }

  async removeReplica(replicaId: string): Promise<void> {
    const name = replicationUserFor(replicaId);
    await this.run(async (c) => {
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [name]);
      await this.dropSlot(c, name);
      await c.query(`DROP ROLE IF EXISTS ${ident(name)}`);
    });
    this.log.info({ replica_id: replicaId, user: name }, 'replication account and slot removed');
  }

  private async dropSlot(c: pg.Client, name: string): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const { rows } = await c.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [name]);
      if (!rows.length) return;
      if (!rows[0]!.active) {
        await c.query('SELECT pg_drop_replication_slot($1)', [name]).catch(() => undefined);
        continue;
      }
      await c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [name]);
      await sleep(100);
    }
  }

  /** A primary's replication accounts and slots (copied from its former source): dropped, they serve no replica of this one yet. */
  private async dropReplicationAccounts(): Promise<string[]> {
    return this.run(async (c) => {
      const { rows } = await c.query<{ name: string }>("SELECT rolname AS name FROM pg_roles WHERE rolname ~ '^repl_[0-9a-f]{8}$'");
      const names = rows.map((r) => r.name).filter((n) => REPLICATION_ACCOUNT.test(n));
      for (const n of names) {
        await this.dropSlot(c, n);
        await c.query(`DROP ROLE IF EXISTS ${ident(n)}`);
      }
      return names;
    });
  }

  // ---- a replica ----
  private writeStandbyFiles(master: ReplicationMaster): void {
    writeFileSync(
      this.paths.replicationPassfile,
      `${passField(master.host)}:${passField(master.port)}:*:${passField(master.user)}:${passField(master.password)}\n`,
      { mode: 0o600 },
    );
    const conninfo = `host=${connValue(master.host)} port=${connValue(master.port)} user=${connValue(master.user)} passfile=${connValue(this.paths.replicationPassfile)} application_name=${connValue(master.user)} connect_timeout=10`;
    const conf = [
      '# written by the trove-ts guest agent: this server is a standby of its replication source',
      `primary_conninfo = ${confValue(conninfo)}`,
      `primary_slot_name = ${confValue(master.user)}`,
      "recovery_target_timeline = 'latest'",
      "hot_standby = 'on'",
      '',
    ].join('\n');
    writeFileSync(this.paths.replicationConf, conf, { mode: 0o600 });
    const signal = path.join(this.paths.dataDir, 'standby.signal');
    writeFileSync(signal, '', { mode: 0o600 });
    chownAll([this.paths.replicationPassfile, this.paths.replicationConf, signal], this.lifecycle.user());
  }

  private removeStandbyFiles(): void {
    for (const f of [this.paths.replicationConf, path.join(this.paths.dataDir, 'standby.signal'), this.paths.replicationPassfile]) rmSync(f, { force: true });
  }

  private async inRecovery(): Promise<boolean> {
    return this.run(async (c) => (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r);
  }

  async attach(master: ReplicationMaster): Promise<void> {
    await this.replicateFrom(master);
  }

  async follow(master: ReplicationMaster): Promise<void> {
    await this.replicateFrom(master);
  }

  private async replicateFrom(master: ReplicationMaster): Promise<void> {
    const general = path.join(this.paths.logDir, 'postgresql.log');
    const logFrom = {
      server: existsSync(this.paths.logFile) ? statSync(this.paths.logFile).size : 0,
      general: existsSync(general) ? statSync(general).size : 0,
    };
    // a primary (a restored copy, a former source) or a standby of another source alike: pg_rewind
    // takes back what this server has beyond the new source's history ("no rewind required" else)
    await this.lifecycle.stop();
    await this.rewind(master);
    // users may connect again: the standby refuses their writes by itself
    rmSync(this.paths.writesStoppedMarker, { force: true });
    this.writeHba();
    this.writeStandbyFiles(master);
    this.log.info({ host: master.host, port: master.port, user: master.user }, 'standby of the replication source; waiting for streaming');
    await this.lifecycle.start().catch((err: Error) => {
      // a standby that cannot reach a consistent state without its source never accepts connections:
      // the start times out, and why is the WAL receiver's error in the server's logs
      const said = scrub(this.serverSaid(logFrom), master.password);
      err.message = `replication from ${master.host}:${master.port} could not start: ${err.message}${said ? `; the server says: ${said}` : ''}`;
      throw err;
    });
    await this.waitStreaming(master, logFrom);
    this.log.info({ host: master.host, port: master.port }, 'streaming from the replication source');
  }

  /** pg_rewind of the stopped server against `master` (what it wrote since the fork is taken back); the instance's own files kept. */
  private async rewind(master: ReplicationMaster): Promise<void> {
    const keep = mkdtempSync(path.join(this.c.mount_point, '.rewind-keep-'));
    for (const f of INSTANCE_FILES) {
      const p = path.join(this.paths.dataDir, f);
      if (existsSync(p)) cpSync(p, path.join(keep, f), { recursive: true, preserveTimestamps: true });
    }
    // the passfile first: the connection string names it, never the password
    writeFileSync(
      this.paths.replicationPassfile,
      `${passField(master.host)}:${passField(master.port)}:*:${passField(master.user)}:${passField(master.password)}\n`,
      { mode: 0o600 },
    );
    chownAll([this.paths.replicationPassfile], this.lifecycle.user());
    const source = `host=${connValue(master.host)} port=${connValue(master.port)} user=${connValue(master.user)} passfile=${connValue(this.paths.replicationPassfile)} dbname=postgres connect_timeout=10`;
    try {
      const u = this.lifecycle.user();
      const { stderr } = await execFileP(this.lifecycle.bin('pg_rewind'), ['--target-pgdata', this.paths.dataDir, '--source-server', source, '--no-sync'], {
        cwd: this.paths.runDir,
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
        ...(u ? { uid: u.uid, gid: u.gid, env: { ...process.env, HOME: this.paths.runDir, USER: u.name, LOGNAME: u.name } } : {}),
      }).catch((err: { stderr?: string; message?: string }) => {
        const said = String(err.stderr || err.message || err)
          .trim()
          .split('\n')
          .slice(-3)
          .join(' | ');
        throw new Error(`pg_rewind against ${master.host}:${master.port} failed: ${scrub(said, master.password)}`);
      });
      const said = stderr
        .split('\n')
        .filter((l) => /diverged|no rewind|same timeline|rewinding|Done/.test(l))
        .join(' | ');
      this.log.info({ host: master.host, port: master.port, said: scrub(said, master.password) }, 'pg_rewind done');
    } finally {
      for (const f of INSTANCE_FILES) {
        const p = path.join(this.paths.dataDir, f);
        rmSync(p, { recursive: true, force: true });
        if (existsSync(path.join(keep, f))) cpSync(path.join(keep, f), p, { recursive: true, preserveTimestamps: true });
      }
      rmSync(keep, { recursive: true, force: true });
      // the source's own signal files and labels are not this server's state
      rmSync(path.join(this.paths.dataDir, 'recovery.signal'), { force: true });
      for (const f of INSTANCE_FILES) if (existsSync(path.join(this.paths.dataDir, f))) ownTree(path.join(this.paths.dataDir, f), this.lifecycle.user());
    }
  }

  private writeHba(): void {
    const hba = path.join(this.paths.dataDir, 'pg_hba.conf');
    writeFileSync(hba, renderHba({ usersBlocked: existsSync(this.paths.writesStoppedMarker) }), { mode: 0o600 });
    chownAll([hba], this.lifecycle.user());
  }

  /** Until pg_stat_wal_receiver streams, at most replica_attach_timeout. */
  private async waitStreaming(master: ReplicationMaster, logFrom: { server: number; general: number }): Promise<void> {
    const deadline = Date.now() + this.c.replica_attach_timeout * 1000;
    let status = 'no WAL receiver';
    for (;;) {
      const r = await this.run((c) => c.query<{ status: string }>('SELECT status FROM pg_stat_wal_receiver')).catch(() => undefined);
      if (r?.rows[0]) status = r.rows[0].status;
      if (status === 'streaming') return;
      if (Date.now() > deadline) break;
      await sleep(200);
    }
    // the WAL receiver's error may not be in the log yet (a loaded machine): a few seconds more for why
    let said = this.serverSaid(logFrom);
    for (const grace = Date.now() + 5000; !said && Date.now() < grace;) {
      await sleep(250);
      said = this.serverSaid(logFrom);
    }
    said = scrub(said, master.password);
    throw new Error(
      `replication from ${master.host}:${master.port} did not start within ${this.c.replica_attach_timeout} s (${status})${said ? `; the server says: ${said}` : ''}`,
    );
  }

  /** The server's last error about its WAL receiver since `from` (server.log, before the logging collector, and the general log). */
  private serverSaid(from: { server: number; general: number }): string {
    const lines: string[] = [];
    const tail = (file: string, start: number) => {
      lines.push(...readSince(file, start, 64 * 1024).split('\n'));
    };
    tail(this.paths.logFile, from.server);
    // a general log shorter than when the attach began was started again: read from its start
    const general = path.join(this.paths.logDir, 'postgresql.log');
    tail(general, existsSync(general) && statSync(general).size < from.general ? 0 : from.general);
    const walReceiver = /primary server|WAL|timeline|replication slot|could not connect|password authentication|recovery/i;
    return (lines.filter((l) => /FATAL|ERROR|PANIC/.test(l) && walReceiver.test(l) && !/due to administrator command/.test(l)).at(-1) ?? '')
      .replace(/^.*?(FATAL|ERROR):\s*/, '')
      .trim();
  }

  // ---- leaving replication ----
  private async promote(): Promise<boolean> {
    if (!(await this.inRecovery())) return false;
    await this.run(async (c) => {
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_promote(true, $1) AS ok', [Math.max(60, this.c.start_timeout)]);
      if (!rows[0]!.ok) throw new Error('the standby did not finish its promotion in time');
      // the new timeline in the control file now (pg_rewind of a member that follows this one reads it there)
      await c.query('CHECKPOINT');
    });
    return true;
  }

  private async leaveReplication(): Promise<boolean> {
    const was = await this.promote();
    this.removeStandbyFiles();
    rmSync(this.paths.writesStoppedMarker, { force: true });
    this.writeHba();
    await this.run((c) => c.query('SELECT pg_reload_conf()'));
    return was;
  }

  /**
   * `forFailover` (a switchover or a failover: enable_as_master or attach_replica follows): the
   * standby stays as it is. Promoting every replica here would give each a timeline of its own with
   * the same number as the new source's, which pg_rewind could not tell apart ("same timeline").
   */
  async detach(forFailover = false): Promise<void> {
    if (forFailover) {
      this.log.info({ replica: await this.isReplica() }, 'detach for a failover: the standby stays until enable_as_master or attach_replica');
      return;
    }
    const was = await this.leaveReplication();
    const dropped = was ? await this.dropReplicationAccounts() : [];
    this.log.info({ was_replica: was, dropped_accounts: dropped }, 'detached from the replication source');
  }

  async isReplica(): Promise<boolean> {
    return existsSync(path.join(this.paths.dataDir, 'standby.signal'));
  }

  async makeReadOnly(readOnly: boolean): Promise<void> {
    if (readOnly) writeFileSync(this.paths.writesStoppedMarker, new Date().toISOString());
    else rmSync(this.paths.writesStoppedMarker, { force: true });
    this.writeHba();
    await this.run(async (c) => {
      await c.query('SELECT pg_reload_conf()');
      if (readOnly) {
        await sleep(300); // the postmaster reloads pg_hba.conf asynchronously
        // open sessions of users go (the agent's own and the replication accounts' stay)
        await c.query(
          `SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
            WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() AND r.rolname <> current_user AND r.rolname !~ '^repl_[0-9a-f]{8}$'`,
        );
      }
    });
    this.log.info({ read_only: readOnly }, readOnly ? "users' connections refused: no writes" : 'users may connect again');
  }

  async isReadOnly(): Promise<boolean> {
    return existsSync(this.paths.writesStoppedMarker);
  }

  private async position(): Promise<PgPosition> {
    return this.run(async (c) => {
      const rec = (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;
      let timeline: number;
      let lsn: string;
      if (!rec) {
        const { rows } = await c.query<{ lsn: string; file: string }>(
          'SELECT pg_current_wal_lsn()::text AS lsn, pg_walfile_name(pg_current_wal_lsn()) AS file',
        );
        lsn = rows[0]!.lsn;
        timeline = parseInt(rows[0]!.file.slice(0, 8), 16);
      } else {
        const { rows } = await c.query<{ lsn: string | null; tli: number; rtli: number | null }>(
          `SELECT coalesce(pg_last_wal_replay_lsn(), '0/0')::text AS lsn, (SELECT timeline_id FROM pg_control_checkpoint()) AS tli,
                  (SELECT received_tli FROM pg_stat_wal_receiver) AS rtli`,
        );
        lsn = rows[0]!.lsn ?? '0/0';
        timeline = Math.max(rows[0]!.tli, rows[0]!.rtli ?? 0);
      }
      const history = new Map<number, bigint>();
      if (timeline > 1) {
        const file = `pg_wal/${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
        const r = await c.query<{ t: string }>('SELECT pg_read_file($1, 0, 1048576, true) AS t', [file]);
        for (const [k, v] of parseHistory(r.rows[0]?.t ?? '')) history.set(k, v);
      }
      return { timeline, lsn, history };
    });
  }

  /** `<timeline>:<LSN>`. */
  async lastTxn(): Promise<string> {
    const p = await this.position();
    return `${p.timeline}:${p.lsn}`;
  }

  async waitForTxn(txn: string, timeoutS: number): Promise<void> {
    const want = parseTxn(txn);
    const started = Date.now();
    const deadline = started + Math.max(0, timeoutS) * 1000;
    let p: PgPosition;
    for (;;) {
      p = await this.position();
      if (hasTxn(p, want)) {
        this.log.info({ txn, wait_ms: Date.now() - started }, 'caught up with the transaction');
        return;
      }
      if (Date.now() >= deadline) break;
      await sleep(Math.min(100, Math.max(1, deadline - Date.now())));
    }
    const ancestors = [...p.history]
      .map(([t, l]) => `${t} until ${(l >> 32n).toString(16).toUpperCase()}/${(l & 0xffffffffn).toString(16).toUpperCase()}`)
      .join(', ');
    throw new Error(
      `this server did not reach the transaction '${txn.trim()}' within ${timeoutS} s: it is at '${p.timeline}:${p.lsn}'${ancestors ? ` (timelines before: ${ancestors})` : ''}`,
    );
  }

  async enableAsSource(): Promise<void> {
    const was = await this.leaveReplication();
    // the accounts copied from the former source serve no replica of this one yet (get_replication_snapshot makes them)
    const dropped = was ? await this.dropReplicationAccounts() : [];
    this.log.info({ was_replicating: was, dropped_accounts: dropped }, 'enabled as the replication source: writable, replicating from nothing');
  }
}

// Backups of a MySQL-family server. Physical with mariadb-backup (xbstream on stdout; restore:
// mbstream -x into the staging dir, mariadb-backup --prepare, the dir renamed into the datadir,
// then os_admin given a fresh password, and the source's replication accounts dropped, through a
// short skip-grant-tables start). Incremental
// physical backups start at the parent's to-lsn (recorded in its object's metadata) and are
// restored by --prepare --incremental-dir onto the staged full backup, in order. Without
// mariadb-backup, logical with mariadb-dump/mysqldump (restore: the SQL loaded into the running
// server, then os_admin's password set back). Credentials reach the tools through a 0600 option
// file, never the command line.
import { chmodSync, existsSync, mkdirSync, readFileSync, createWriteStream, createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import mysql from 'mysql2/promise';
import type { Logger } from '../../../src/common/log.js';
import { checkSocketPath, makeRuntimeDir } from '../../../src/common/runtime-dir.js';
import { NotSupportedError, type Backup, type BackupStreamSource, type ClosedLog, type LogPosition, type RestoreStreamSink } from '../../capabilities.js';
import { closedBinlogs, replayBinlogs, restoredBinlogPosition, type Rotation } from './binlogs.js';
import { findExecutable, processSink, processSource, ProcessFailedError, runProcess } from '../../backup/process-stream.js';
import { EngineFailure, errorTail } from '../../platform/error-tail.js';
import { readSince } from '../../../src/common/file-tail.js';
import { isAlive, readPid, startDaemon, stopProcess } from '../../platform/process.js';
import { writePrivateFile } from '../../platform/private-file.js';
import { ownTree } from '../../platform/os-user.js';
import { swapDataDir } from '../../platform/data-dir.js';
import { generatePassword, REPLICATION_USER_PATTERN } from './admin.js';
import type { MysqlLifecycle } from './lifecycle.js';
import type { MysqlFamilyConfig } from './settings.js';

export interface MysqlBackupTools {
  /** mariadb-backup; physical backups only when it (and mbstream) exist. */
  backup?: string | undefined;
  mbstream?: string | undefined;
  dump?: string | undefined;
  client?: string | undefined;
  /** 'auto': physical when mariadb-backup is installed, else logical. */
  method: 'auto' | 'physical' | 'logical';
}

const ADMIN_USER = 'os_admin';
/** The stored object's metadata keys for mariadb-backup's checkpoints (where an incremental continues). */
const TO_LSN = 'to-lsn';
const FROM_LSN = 'from-lsn';

/** xtrabackup_checkpoints (`backup_type = full-backuped`, `to_lsn = …`) of a directory; {} when absent. */
function readCheckpoints(dir: string): Record<string, string> {
  const file = path.join(dir, 'xtrabackup_checkpoints');
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
const DUMP_FILE = 'dump.sql';
const cnfQuote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export class MysqlBackup implements Backup {
  private readonly tools: MysqlBackupTools;
  private readonly stateDir: string;
  /** The binary log's position after the archiver's last rotation. */
  private readonly rotation: Rotation = {};

  constructor(
    private readonly c: MysqlFamilyConfig,
    private readonly lifecycle: MysqlLifecycle,
    private readonly log: Logger,
    tools: Partial<MysqlBackupTools> = {},
  ) {
    this.tools = {
      backup: tools.backup ?? findExecutable('mariadb-backup') ?? findExecutable('mariabackup'),
      mbstream: tools.mbstream ?? findExecutable('mbstream'),
      dump: tools.dump ?? findExecutable('mariadb-dump') ?? findExecutable('mysqldump'),
      client: tools.client ?? findExecutable('mariadb') ?? findExecutable('mysql'),
      method: tools.method ?? 'auto',
    };
    this.stateDir = path.dirname(lifecycle.paths.cnf);
  }

  /** 'xbstream' (physical) or 'sql' (logical), as this machine's tools allow. */
  method(): 'xbstream' | 'sql' {
    const physical = Boolean(this.tools.backup && this.tools.mbstream);
    if (this.tools.method === 'physical' && !physical) throw new Error('physical backups need mariadb-backup and mbstream, which are not installed');
    return this.tools.method === 'logical' || !physical ? 'sql' : 'xbstream';
  }

  /** An option file with the server's config and os_admin's credentials, 0600. */
  credentialsFile(): string {
    const file = path.join(this.stateDir, 'backup-client.cnf');
    const pw = readFileSync(this.lifecycle.paths.adminPasswordFile, 'utf8').trim();
    const client = [`user = ${ADMIN_USER}`, `password = ${cnfQuote(pw)}`, `socket = ${this.lifecycle.paths.socket}`];
    writePrivateFile(file, [`!include ${this.lifecycle.paths.cnf}`, '[client]', ...client, '[mariadb-backup]', ...client, ''].join('\n'));
    return file;
  }

  async backupStream(): Promise<BackupStreamSource> {
    const format = this.method();
    if (format === 'xbstream') return this.physicalStream();
    const cnf = this.credentialsFile();
    if (!this.tools.dump) throw new Error('neither mariadb-backup nor mariadb-dump/mysqldump is installed');
    this.log.info({ tool: path.basename(this.tools.dump) }, 'logical backup started');
    const args = [`--defaults-file=${cnf}`, '--all-databases', '--single-transaction', '--routines', '--events', '--triggers', '--hex-blob', '--quick'];
    return { format, stream: processSource({ bin: this.tools.dump, args }) };
  }

  /**
   * What changed since the parent (a physical backup): mariadb-backup --incremental-lsn at the
   * parent's recorded end position. A logical backup has no position to continue from.
   */
  async incrementalStream(parentMetadata: Record<string, string>): Promise<BackupStreamSource> {
    if (this.method() !== 'xbstream')
      throw new NotSupportedError('Incremental backups need physical backups (mariadb-backup), which this instance does not take.');
    const lsn = parentMetadata[TO_LSN];
    if (parentMetadata.format !== 'xbstream' || !lsn || !/^\d+$/.test(lsn)) {
      throw new NotSupportedError('The parent backup records no end position (to-lsn) to continue from; take a full backup first.');
    }
    return this.physicalStream(lsn);
  }

  /** mariadb-backup's xbstream; its checkpoints (written to --extra-lsndir) become the object's metadata. */
  private async physicalStream(incrementalLsn?: string): Promise<BackupStreamSource> {
    const cnf = this.credentialsFile();
    const tmp = path.join(this.stateDir, 'backup-tmp');
    const lsnDir = path.join(tmp, 'lsn');
    await rm(tmp, { recursive: true, force: true });
    mkdirSync(lsnDir, { recursive: true, mode: 0o700 });
    const args = [`--defaults-file=${cnf}`, '--backup', '--stream=xbstream', `--target-dir=${tmp}`, `--tmpdir=${tmp}`, `--extra-lsndir=${lsnDir}`];
    if (incrementalLsn) args.push(`--incremental-lsn=${incrementalLsn}`);
    this.log.info({ tool: path.basename(this.tools.backup!), incremental: Boolean(incrementalLsn) }, 'physical backup started');
    return {
      format: 'xbstream',
      stream: processSource({ bin: this.tools.backup!, args }),
      metadata: () => {
        const cp = readCheckpoints(lsnDir);
        if (!cp.to_lsn) throw new Error('mariadb-backup wrote no end position (xtrabackup_checkpoints to_lsn)');
        return { [TO_LSN]: cp.to_lsn, [FROM_LSN]: cp.from_lsn ?? '0' };
      },
    };
  }

  stagingDir(backupId: string): string {
    return path.join(this.c.mount_point, `.restore-${backupId.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  }

  async restoreStream(format: string, stagingDir: string): Promise<RestoreStreamSink> {
    if (format === 'xbstream') {
      if (!this.tools.mbstream) throw new Error('restoring a physical backup needs mbstream (mariadb-backup), which is not installed');
      return processSink({ bin: this.tools.mbstream, args: ['-x', '-C', stagingDir] });
    }
    if (format === 'sql') {
      const stream = createWriteStream(path.join(stagingDir, DUMP_FILE), { mode: 0o600 });
      return { stream, done: finished(stream) };
    }
    throw new Error(`a MySQL-family engine cannot restore a backup of format '${format}'`);
  }

  async installRestored(format: string, stagingDir: string): Promise<void> {
    if (format === 'sql') return this.loadDump(path.join(stagingDir, DUMP_FILE));
    if (format !== 'xbstream') throw new Error(`a MySQL-family engine cannot restore a backup of format '${format}'`);
    await this.prepareStaged(stagingDir);
    await this.lifecycle.stop();
    const dataDir = this.lifecycle.paths.dataDir;
    chmodSync(this.c.mount_point, 0o755);
    await swapDataDir(dataDir, stagingDir, async () => {
      ownTree(dataDir, this.lifecycle.user());
      await this.resetAdmin();
    });
    this.log.info({}, 'physical backup installed into the data directory');
  }

  /** Prepares the staged full backup (once), then applies the staged incremental onto it. */
  async applyIncremental(format: string, stagingDir: string, incrementalDir: string): Promise<void> {
    if (format !== 'xbstream') throw new Error(`a MySQL-family engine cannot apply an incremental backup of format '${format}'`);
    await this.prepareStaged(stagingDir);
    await runProcess({
      bin: this.tools.backup!,
      args: ['--no-defaults', '--prepare', `--target-dir=${stagingDir}`, `--incremental-dir=${incrementalDir}`],
    }).catch(toolFailure('mariadb-backup --prepare --incremental-dir'));
    this.log.info({}, 'incremental backup applied to the staged data');
  }

  /** mariadb-backup --prepare, unless the staged backup is prepared already (it was the base of an incremental). */
  private async prepareStaged(stagingDir: string): Promise<void> {
    if (readCheckpoints(stagingDir).backup_type === 'full-prepared') return;
    if (!this.tools.backup) throw new Error('restoring a physical backup needs mariadb-backup, which is not installed');
    await runProcess({ bin: this.tools.backup, args: ['--no-defaults', '--prepare', `--target-dir=${stagingDir}`] }).catch(
      toolFailure('mariadb-backup --prepare'),
    );
  }

  closedLogs(): Promise<ClosedLog[]> {
    return closedBinlogs(this.lifecycle, this.rotation);
  }

  async restoredLogPosition(): Promise<LogPosition> {
    return restoredBinlogPosition(this.lifecycle.paths.dataDir);
  }

  async replayLogs(files: string[], from: LogPosition, stopAt: Date): Promise<void> {
    const binlog = findExecutable('mariadb-binlog') ?? findExecutable('mysqlbinlog');
    if (!binlog || !this.tools.client) throw new Error('replaying binary logs needs mariadb-binlog and the mariadb client, which are not installed');
    if (!isAlive(readPid(this.lifecycle.paths.pidFile))) await this.lifecycle.start();
    await replayBinlogs({ binlog, client: this.tools.client }, this.credentialsFile(), files, from, stopAt);
    this.log.info({ files: files.length }, 'binary logs replayed');
  }

  /**
   * The restored grant tables hold the source's os_admin password: start the server once without
   * networking and grant checks, give os_admin a new password (kept 0600 as the lifecycle expects),
   * stop it. The lifecycle's next start finds a server it can manage.
   */
  private async resetAdmin(): Promise<void> {
    // in the runtime directory: a socket path under the state directory may be too long for the kernel
    const run = path.join(this.lifecycle.paths.runtimeDir, 'restore-run');
    await rm(run, { recursive: true, force: true });
    const u = this.lifecycle.user();
    makeRuntimeDir(this.lifecycle.paths.runtimeDir, { sub: 'restore-run', ...(u ? { owner: u } : {}) });
    const sock = checkSocketPath(path.join(run, 'mysqld.sock'));
    const pidFile = path.join(run, 'mysqld.pid');
    const out = path.join(this.stateDir, 'restore-server.log');
    const args = [
      '--no-defaults',
      `--datadir=${this.lifecycle.paths.dataDir}`,
      `--socket=${sock}`,
      `--pid-file=${pidFile}`,
      '--skip-networking',
      '--skip-grant-tables',
    ];
    if (u) args.push(`--user=${u.name}`);
    const bins = this.lifecycle.bins();
    const pid = startDaemon(bins.mysqld, [...args, ...bins.serverArgs], out);
    const connect = () => mysql.createConnection({ socketPath: sock, user: 'root', connectTimeout: 2000 });
    try {
      for (const deadline = Date.now() + this.c.start_timeout * 1000; ;) {
        if (
          await connect().then(
            (c) => (c.destroy(), true),
            () => false,
          )
        )
          break;
        if (!isAlive(pid) || Date.now() > deadline) {
          const tail = errorTail(out, 'bracketed', 0, 3);
          throw new EngineFailure(
            `the restored data directory did not start${tail ? `: ${path.basename(bins.mysqld)}: ${tail}` : ''}`,
            readSince(out, 0, 8192),
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const conn = await connect();
      try {
        const pw = generatePassword();
        await conn.query('FLUSH PRIVILEGES');
        // the backed-up server's accounts for its own replicas are not this instance's
        const [repl] = await conn.query('SELECT User AS name, Host AS host FROM mysql.user WHERE User REGEXP ?', [REPLICATION_USER_PATTERN]);
        for (const r of repl as Array<{ name: string; host: string }>) await conn.query('DROP USER ?@?', [r.name, r.host]);
        for (const host of ['localhost', '127.0.0.1']) {
          await conn.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [ADMIN_USER, host, pw]);
          await conn.query('ALTER USER ?@? IDENTIFIED BY ?', [ADMIN_USER, host, pw]);
          await conn.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [ADMIN_USER, host]);
        }
        writePrivateFile(this.lifecycle.paths.adminPasswordFile, pw);
      } finally {
        conn.destroy();
      }
    } finally {
      await stopProcess(pid, 60_000);
      await rm(run, { recursive: true, force: true });
    }
  }

  /** Loads a logical backup into the running server; os_admin keeps this instance's password. */
  private async loadDump(file: string): Promise<void> {
    if (!this.tools.client) throw new Error('restoring a logical backup needs the mariadb/mysql client, which is not installed');
    if (!isAlive(readPid(this.lifecycle.paths.pidFile))) await this.lifecycle.start();
    const pw = readFileSync(this.lifecycle.paths.adminPasswordFile, 'utf8').trim();
    const admin = await this.lifecycle.admin.connect(); // held open: the dump replaces the grant tables
    try {
      const cnf = this.credentialsFile();
      const sink = processSink({ bin: this.tools.client, args: [`--defaults-file=${cnf}`, '--binary-mode'] });
      await pipeline(createReadStream(file), sink.stream);
      await sink.done;
      for (const host of ['localhost', '127.0.0.1']) {
        await admin.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [ADMIN_USER, host, pw]);
        await admin.query('ALTER USER ?@? IDENTIFIED BY ?', [ADMIN_USER, host, pw]);
        await admin.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [ADMIN_USER, host]);
      }
      await admin.query('FLUSH PRIVILEGES');
    } finally {
      await admin.end().catch(() => undefined);
    }
    this.log.info({}, 'logical backup loaded');
  }
}

/** A tool's failure as the fault says it: `<what> failed: <its stderr tail>`. */
function toolFailure(what: string): (err: unknown) => never {
  return (err) => {
    if (!(err instanceof ProcessFailedError)) throw err;
    // mariadb-backup's stderr is mostly progress: its error lines, when it wrote some, are the reason
    const lines = err.stderrTail.split(' | ');
    const errors = lines.filter((l) => /\b(ERROR|FATAL|error|failed)\b/.test(l));
    const said = (errors.length ? errors : lines).join(' | ');
    throw new EngineFailure(`${what} failed: ${said || (err.code === null ? 'it was killed' : `exit code ${err.code}`)}`, err.stderrTail);
  };
}

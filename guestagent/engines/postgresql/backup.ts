// Backups of a PostgreSQL server: physical, with pg_basebackup streaming one tar to stdout
// (`-Ft -X fetch`: the WAL the copy needs to be consistent is inside it), as the agent's admin role
// over the unix socket by peer (a replication connection: pg_hba has a `local replication` line for
// it). Restore: the tar is unpacked into a staging directory on the data volume, checked with
// pg_verifybackup against its manifest, and installed by stopping the server and renaming it into
// the data directory. The instance keeps its own postgresql.conf, postgresql.auto.conf, conf.d/,
// pg_hba.conf and pg_ident.conf (the backup's are the source instance's: its port, its agent's OS
// user); then a single-user start (which also replays the backup's WAL) gives the admin role back
// the attributes the agent needs, whatever the source's users did to it.
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readFileSync, writeFileSync, chownSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../src/common/log.js';
import type { Backup, BackupStreamSource, RestoreStreamSink } from '../../capabilities.js';
import { findExecutable, processSink, processSource, runProcess, ProcessFailedError } from '../../backup/process-stream.js';
import { ownTree, type OsUser } from '../../platform/os-user.js';
import { swapDataDir } from '../../platform/data-dir.js';
import { ADMIN_ROLE } from './admin.js';
import { INSTANCE_FILES, renderHba } from './conf-files.js';
import type { PgLifecycle } from './lifecycle.js';
import { READ_ONLY_KEY } from './overrides.js';

export const PG_FORMAT = 'pg-tar';

export interface PgBackupTools {
  /** The tar binary that unpacks a backup (default: tar on PATH). */
  tar?: string | undefined;
}

export class PostgresqlBackup implements Backup {
  private readonly tar: string | undefined;

  constructor(
    private readonly mountPoint: string,
    private readonly port: number,
    private readonly lifecycle: PgLifecycle,
    private readonly log: Logger,
    tools: PgBackupTools = {},
  ) {
    this.tar = tools.tar ?? findExecutable('tar');
  }

  /** pg_hba.conf of an instance prepared before backups existed lacks the replication line: rewrite it and reload. */
  private async allowReplication(): Promise<void> {
    const hba = path.join(this.lifecycle.paths.dataDir, 'pg_hba.conf');
    const text = existsSync(hba) ? readFileSync(hba, 'utf8') : '';
    if (new RegExp(`^local\\s+replication\\s+${ADMIN_ROLE}\\s`, 'm').test(text)) return;
    writeFileSync(hba, renderHba(), { mode: 0o600 });
    const u = this.lifecycle.user();
    if (u) chownSync(hba, u.uid, u.gid);
    await this.lifecycle.admin.run((c) => c.query('SELECT pg_reload_conf()'));
    await new Promise((r) => setTimeout(r, 1000)); // the postmaster reloads pg_hba.conf asynchronously
    this.log.info({}, 'pg_hba.conf: replication over the unix socket allowed for the admin role');
  }

  async backupStream(): Promise<BackupStreamSource> {
    await this.allowReplication();
    // `-X fetch` reads the backup's WAL at its end: a temporary slot, reserved now and held by this
    // session for as long as the stream lives, keeps the server from recycling it meanwhile (and
    // goes away with the session, even if the agent dies).
    const holder = await this.lifecycle.admin.connect();
    try {
      await holder.query('SELECT pg_create_physical_replication_slot($1, true, true)', [`trove_backup_${process.pid}_${Date.now()}`]);
    } catch (e) {
      await holder.end().catch(() => undefined);
      throw e;
    }
    const args = [
      '-h',
      this.lifecycle.paths.socketDir,
      '-p',
      String(this.port),
      '-U',
      ADMIN_ROLE,
      '-w',
      '-D',
      '-',
      '-F',
      't',
      '-X',
      'fetch',
      '-c',
      'fast',
      '-l',
      'trove-ts backup',
    ];
    this.log.info({ tool: 'pg_basebackup' }, 'physical backup started');
    const stream = processSource({ bin: this.lifecycle.bin('pg_basebackup'), args, env: { PGCONNECT_TIMEOUT: '10', PGAPPNAME: 'trove-backup' } });
    stream.once('close', () => void holder.end().catch(() => undefined));
    return { format: PG_FORMAT, stream };
  }

  stagingDir(backupId: string): string {
    return path.join(this.mountPoint, `.restore-${backupId.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  }

  async restoreStream(format: string, stagingDir: string): Promise<RestoreStreamSink> {
    if (format !== PG_FORMAT) throw new Error(`a PostgreSQL engine cannot restore a backup of format '${format}'`);
    if (!this.tar) throw new Error('restoring a PostgreSQL backup needs tar, which is not installed');
    // GNU tar refuses absolute names and `..` by default; the files become the server's on install.
    return processSink({ bin: this.tar, args: ['-x', '-f', '-', '-C', stagingDir, '--no-same-owner', '--no-same-permissions'] });
  }

  async installRestored(format: string, stagingDir: string): Promise<void> {
    if (format !== PG_FORMAT) throw new Error(`a PostgreSQL engine cannot restore a backup of format '${format}'`);
    if (!existsSync(path.join(stagingDir, 'PG_VERSION')) || !existsSync(path.join(stagingDir, 'backup_label'))) {
      throw new Error('the backup is not a PostgreSQL base backup (no PG_VERSION or backup_label)');
    }
    await this.verify(stagingDir);
    const dataDir = this.lifecycle.paths.dataDir;
    await this.lifecycle.stop();
    await swapDataDir(dataDir, stagingDir, async (previous) => {
      for (const f of INSTANCE_FILES) {
        await rm(path.join(dataDir, f), { recursive: true, force: true });
        if (previous && existsSync(path.join(previous, f)))
          cpSync(path.join(previous, f), path.join(dataDir, f), { recursive: true, preserveTimestamps: true });
      }
      chmodSync(dataDir, 0o700);
      ownTree(dataDir, this.lifecycle.user());
      await this.resetAdmin();
    });
    this.log.info({}, 'physical backup installed into the data directory');
  }

  /** pg_verifybackup against the backup's manifest (sizes, checksums, and that its WAL parses), when both are there. */
  private async verify(dir: string): Promise<void> {
    const bin = this.lifecycle.bin('pg_verifybackup');
    if (!existsSync(path.join(dir, 'backup_manifest')) || !existsSync(bin)) return;
    await runProcess({ bin, args: ['-q', dir] }).catch((e: Error) => {
      throw new Error(`the restored files do not match the backup's manifest: ${e instanceof ProcessFailedError ? e.stderrTail : e.message}`);
    });
  }

  /**
   * A single-user start as the server's OS user: it replays the backup's WAL to a consistent state
   * and gives the admin role its attributes back (it logs in by peer through this instance's own
   * pg_ident.conf: no password to reset). Ends with a clean shutdown; the lifecycle starts it next.
   */
  private async resetAdmin(): Promise<void> {
    const sql = [
      `ALTER ROLE ${ADMIN_ROLE} WITH SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS LOGIN PASSWORD NULL CONNECTION LIMIT -1 VALID UNTIL 'infinity';`,
      `ALTER ROLE ${ADMIN_ROLE} SET ${READ_ONLY_KEY} = off;`,
      '',
    ].join('\n');
    // An archive recovery (recovery.signal, no archive: restore_command fails) ends the backup's
    // WAL on a new timeline: what this copy writes from now on is its own history, which pg_rewind
    // can tell apart from its source's when the copy becomes the source's replica (replication.ts).
    const signal = path.join(this.lifecycle.paths.dataDir, 'recovery.signal');
    writeFileSync(signal, '', { mode: 0o600 });
    const u = this.lifecycle.user();
    if (u) chownSync(signal, u.uid, u.gid);
    const args = [
      '--single',
      '-D',
      this.lifecycle.paths.dataDir,
      '-c',
      'exit_on_error=on',
      '-c',
      'listen_addresses=',
      '-c',
      'restore_command=false',
      '-c',
      'wal_keep_size=256MB',
      'postgres',
    ];
    await runWithInput(this.lifecycle.bin('postgres'), args, sql, this.lifecycle.paths.runDir, this.lifecycle.user());
  }
}

/** Runs a program (as the server's user) with `input` on its stdin; rejects with its stderr's tail unless it exits 0. */
function runWithInput(bin: string, args: string[], input: string, cwd: string, u: OsUser | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd,
      stdio: ['pipe', 'ignore', 'pipe'],
      ...(u ? { uid: u.uid, gid: u.gid, env: { ...process.env, HOME: cwd, USER: u.name, LOGNAME: u.name } } : {}),
    });
    let tail = '';
    child.stderr.on('data', (d: Buffer) => (tail = (tail + d.toString('utf8')).slice(-2000)));
    child.stdin.on('error', () => undefined);
    child.once('error', (e) => reject(new ProcessFailedError(bin, null, e.message)));
    child.once('close', (code) => {
      const lines = tail
        .trim()
        .split('\n')
        .filter((l) => /ERROR|FATAL|PANIC/.test(l))
        .slice(-3)
        .join(' | ');
      if (code === 0) resolve();
      else reject(new Error(`the restored data directory did not start: ${new ProcessFailedError(bin, code, lines).message}`));
    });
    child.stdin.end(input);
  });
}

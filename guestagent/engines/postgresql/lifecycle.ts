// Prepare, start, stop and watch a PostgreSQL server on this machine (the database VM, or an
// all-in-one instance's directory): initdb in the data directory, postgresql.conf from the flavor,
// pg_ctl as the server's OS user, then the databases and users of the create call.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../../src/common/log.js';
import { checkSocketPath, makeRuntimeDir } from '../../../src/common/runtime-dir.js';
import type { FsStats, HealthStatus, Lifecycle, PrepareSpec } from '../../capabilities.js';
import { isAlive, stopProcess, waitFor } from '../../platform/process.js';
import { EngineFailure, errorTail, lastLines, logOffset } from '../../platform/error-tail.js';
import { readSince } from '../../../src/common/file-tail.js';
import { filesystemStats } from '../../platform/volume.js';
import { ADMIN_ROLE, PgAdmin } from './admin.js';
import { confValue, renderHba, renderIdent, renderPostgresqlConf } from './conf-files.js';
import { postgresqlPaths, type PostgresqlConfig, type PostgresqlPaths } from './config.js';
import { buildForMajor, buildsOf, clusterMajor, findPgBuild, type PgBuild } from './builds.js';
import { agentUserName, chownAll, runAsServer, serverUser, type OsUser } from '../../platform/os-user.js';
import { PgOverrides, READ_ONLY_KEY } from './overrides.js';

export class PgLifecycle implements Lifecycle {
  readonly paths: PostgresqlPaths;
  readonly admin: PgAdmin;
  readonly overrides: PgOverrides;
  /** The build of the instance's version until its cluster exists (prepare), then preferred among builds of the cluster's major. */
  private preferred: PgBuild | undefined;

  constructor(
    private readonly c: PostgresqlConfig,
    stateDir: string,
    private readonly log: Logger,
    /** Where the socket goes (src/common/runtime-dir.ts; default: the one of stateDir). */
    runtimeDir?: string,
  ) {
    this.paths = postgresqlPaths(c, stateDir, runtimeDir);
    this.admin = new PgAdmin({ socketDir: this.paths.socketDir, port: c.port });
    this.overrides = new PgOverrides(
      this.paths.overridesFile,
      this.admin,
      () => this.user(),
      () => this.running(),
      path.join(this.paths.dataDir, 'postgresql.conf'),
    );
  }

  /**
   * The build that runs this instance: the configured installation, or with [postgresql]
   * version_dirs the build of the data directory's major (PG_VERSION), else (before initdb) the
   * build of the instance's version.
   */
  build(): PgBuild {
    const all = buildsOf(this.c);
    if (!this.c.version_dirs.length) return all[0]!;
    const major = clusterMajor(this.paths.dataDir);
    return (major ? buildForMajor(all, major, this.preferred) : this.preferred) ?? all[0]!;
  }

  /** Prefers a build from now on (among builds of the cluster's major; before initdb, the one initdb comes from). */
  useBuild(b: PgBuild): void {
    this.preferred = b;
  }

  /** A program of the build running this instance (initdb, pg_ctl, pg_basebackup, postgres…). */
  bin(name: string): string {
    const { binDir } = this.build();
    if (!binDir) throw new Error('no PostgreSQL installation found under /usr/lib/postgresql: set [postgresql] bin_dir');
    return path.join(binDir, name);
  }

  /** The version the running server reports (SHOW server_version), e.g. 15.10 (Debian 15.10-0+deb12u1). */
  async runningVersion(): Promise<string> {
    return this.admin.run(async (c) => String((await c.query('SHOW server_version')).rows[0].server_version));
  }

  /** The OS user the server runs as (undefined when the agent is not root: the agent's own). */
  user(): OsUser | undefined {
    return serverUser(this.c.run_as);
  }

  /** The postmaster's pid from its own pid file (first line), if the file is there. */
  private postmasterPid(): number | undefined {
    const f = path.join(this.paths.dataDir, 'postmaster.pid');
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  private running(): boolean {
    return isAlive(this.postmasterPid());
  }

  /** The data directory (0700, the server's) and the socket directory (0700, the server's, made again before every start: a reboot empties /run). */
  private ownDirs(): void {
    mkdirSync(this.c.mount_point, { recursive: true });
    chmodSync(this.c.mount_point, 0o755);
    for (const d of [this.paths.dataDir, this.paths.runDir, this.paths.logDir]) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o700);
    }
    chownAll([this.paths.dataDir, this.paths.runDir, this.paths.logDir], this.user());
    const u = this.user();
    makeRuntimeDir(this.paths.runtimeDir, { sub: path.basename(this.paths.socketDir), ...(u ? { owner: u } : {}) });
    checkSocketPath(path.join(this.paths.socketDir, `.s.PGSQL.${this.c.port}`));
    this.pinSocketDir();
  }

  /** postgresql.conf of an instance prepared before the socket moved to the runtime directory: its unix_socket_directories set to where the agent connects. */
  private pinSocketDir(): void {
    const conf = path.join(this.paths.dataDir, 'postgresql.conf');
    if (!existsSync(conf)) return;
    const text = readFileSync(conf, 'utf8');
    const line = `unix_socket_directories = ${confValue(this.paths.socketDir)}`;
    const pinned = text.replace(/^unix_socket_directories = .*$/m, line);
    if (pinned !== text) writeFileSync(conf, pinned);
  }

  private writeConfFiles(memoryMb: number): void {
    const files: Array<[string, string]> = [
      ['postgresql.conf', renderPostgresqlConf(this.c, this.paths, memoryMb)],
      ['pg_hba.conf', renderHba({ usersBlocked: existsSync(this.paths.writesStoppedMarker) })],
      ['pg_ident.conf', renderIdent(agentUserName())],
    ];
    const confD = path.dirname(this.paths.overridesFile);
    mkdirSync(confD, { recursive: true, mode: 0o700 });
    const written = [confD];
    for (const [name, body] of files) {
      const f = path.join(this.paths.dataDir, name);
      writeFileSync(f, body, { mode: 0o600 });
      written.push(f);
    }
    chownAll(written, this.user());
  }

  async prepared(): Promise<boolean> {
    return existsSync(this.paths.preparedMarker);
  }

  private async initialise(): Promise<void> {
    if (existsSync(path.join(this.paths.dataDir, 'PG_VERSION'))) return;
    this.log.info({ dir: this.paths.dataDir }, 'initialising the database cluster');
    const args = ['-D', this.paths.dataDir, '-U', ADMIN_ROLE, '-E', 'UTF8', '--auth-local=peer', '--auth-host=scram-sha-256'];
    try {
      await runAsServer(this.user(), this.bin('initdb'), [...args, '--locale=C.UTF-8'], this.paths.runDir);
    } catch {
      // a machine without the C.UTF-8 locale
      await runAsServer(this.user(), this.bin('initdb'), [...args, '--no-locale'], this.paths.runDir);
    }
  }

  private async ping(): Promise<boolean> {
    return this.admin.run(async (c) => (await c.query('SELECT 1')).rowCount === 1).catch(() => false);
  }

  async start(): Promise<void> {
    if (!this.running()) {
      this.ownDirs();
      const t = this.c.start_timeout;
      const pgCtl = this.bin('pg_ctl');
      if (!existsSync(pgCtl))
        throw new EngineFailure(`could not start ${pgCtl}: no such file (the engine's program is not installed where the guest's configuration says)`);
      const from = logOffset(this.paths.logFile);
      // pg_ctl -w returns as soon as the postmaster exits: its reason is in the server log
      await runAsServer(
        this.user(),
        pgCtl,
        ['start', '-D', this.paths.dataDir, '-l', this.paths.logFile, '-w', '-t', String(t), '-s'],
        this.paths.runDir,
        (t + 10) * 1000,
      ).catch((err: Error & { stderr?: string }) => {
        const server = errorTail(this.paths.logFile, 'severity', from);
        const ctl = lastLines((err.stderr ?? '').replace(/^.*Examine the log output.*$/gm, ''), 2) || err.message.split('\n')[0]!;
        throw new EngineFailure(`${ctl}${server ? `; postgres: ${server}` : ''}`, `${err.stderr ?? ''}\n${readSince(this.paths.logFile, from, 8192)}`);
      });
    }
    writeFileSync(this.paths.pidFile, String(this.postmasterPid() ?? ''));
    await waitFor(() => this.ping(), this.c.start_timeout * 1000, 'the database server to accept connections');
  }

  async prepare(spec: PrepareSpec): Promise<void> {
    const started = Date.now();
    // the build of the instance's version when several are installed side by side (else the configured one)
    if (spec.dsVersion && this.c.version_dirs.length) this.preferred = await findPgBuild(this.c, spec.dsVersion);
    this.ownDirs();
    await this.initialise();
    this.writeConfFiles(spec.memoryMb);
    if (Object.keys(spec.overrides).length) await this.overrides.updateOverrides(spec.overrides, false);
    await this.start();
    // The agent keeps working on a volume made read-only (setReadOnly).
    await this.admin.run((c) => c.query(`ALTER ROLE ${ADMIN_ROLE} SET ${READ_ONLY_KEY} = off`));
    if (spec.databases.length) await this.admin.createDatabases(spec.databases);
    if (spec.users.length) await this.admin.createUsers(spec.users);
    if (spec.rootPassword) await this.admin.enableRoot(spec.rootPassword);
    writeFileSync(this.paths.preparedMarker, new Date().toISOString());
    this.log.info({ databases: spec.databases.length, users: spec.users.length, prepare_ms: Date.now() - started }, 'prepare done');
  }

  async stop(): Promise<void> {
    const pid = this.postmasterPid();
    if (isAlive(pid)) {
      await runAsServer(
        this.user(),
        this.bin('pg_ctl'),
        ['stop', '-D', this.paths.dataDir, '-m', 'fast', '-w', '-t', '60', '-s'],
        this.paths.runDir,
        70_000,
      ).catch((err: Error) => {
        this.log.warn({ err: err.message }, 'pg_ctl stop failed; signalling the server');
        return stopProcess(pid, 10_000);
      });
    }
    rmSync(this.paths.pidFile, { force: true });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async reconfigure(memoryMb: number): Promise<void> {
    this.writeConfFiles(memoryMb);
    await this.restart();
  }

  async health(): Promise<HealthStatus> {
    if (!this.running()) return existsSync(path.join(this.paths.dataDir, 'postmaster.pid')) ? 'crashed' : 'shutdown';
    return (await this.ping()) ? 'healthy' : 'blocked';
  }

  /** New transactions default to read-only (the agent's role excepted); a reload applies it to open sessions too. */
  async setReadOnly(readOnly: boolean): Promise<void> {
    await this.admin.run(async (c) => {
      await c.query(readOnly ? `ALTER SYSTEM SET ${READ_ONLY_KEY} = on` : `ALTER SYSTEM RESET ${READ_ONLY_KEY}`);
      await c.query('SELECT pg_reload_conf()');
    });
  }

  async filesystemStats(): Promise<FsStats> {
    return filesystemStats(this.c.mount_point);
  }
}

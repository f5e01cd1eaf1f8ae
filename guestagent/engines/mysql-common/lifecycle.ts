// Prepare, start, stop and watch a MySQL-family server on this machine (the database VM, or an
// all-in-one instance's directory): initialise the datadir, write my.cnf from the flavor, start
// the server, secure it, create the databases and users of the create call.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import type { Logger } from '../../../src/common/log.js';
import { checkSocketPath, makeRuntimeDir } from '../../../src/common/runtime-dir.js';
import type { FsStats, HealthStatus, Lifecycle, PrepareSpec } from '../../capabilities.js';
import { isAlive, readPid, startDaemon, stopProcess, waitForDaemon } from '../../platform/process.js';
import { EngineFailure, errorTail, lastLines, logOffset } from '../../platform/error-tail.js';
import { readSince } from '../../../src/common/file-tail.js';
import { filesystemStats } from '../../platform/volume.js';
import { writePrivateFile } from '../../platform/private-file.js';
import { agentUserName, chownAll, serverUser, type OsUser } from '../../platform/os-user.js';
import { generatePassword, MysqlAdmin } from './admin.js';
import { baseSettings, effectiveSettings, renderMyCnf, serverIdFor } from './config.js';
import { mysqlPaths, type MysqlFamilyConfig, type MysqlPaths } from './settings.js';
import { binariesAt, findBuild, type MysqlBinaries } from './binaries.js';

const run = promisify(execFile);

const ADMIN_USER = 'os_admin';

export class MysqlLifecycle implements Lifecycle {
  readonly paths: MysqlPaths;
  readonly admin: MysqlAdmin;
  private memoryMb = 1024;
  private overrides: Record<string, unknown> = {};
  /** Guest logs turned on (logs.ts): their my.cnf options, by log name. */
  private logs: Record<string, Record<string, string | number>> = {};
  /** A replica: read_only for users, kept in my.cnf (replication.ts sets and clears it). */
  private replica = false;
  /** Users' writes stopped by the control plane (make_read_only, before a switchover): read_only, kept in my.cnf. */
  private writesStopped = false;
  /** A full data volume (the agent's reports): read_only until there is room again. */
  private volumeFull = false;
  /** The build the server runs ('' = the configured binaries, else a version directory: binaries.ts). */
  private binRoot = '';
  /** This server's replication id, derived from the instance id. */
  readonly serverId: number;
  private readonly stateFile: string;

  constructor(
    private readonly c: MysqlFamilyConfig,
    stateDir: string,
    private readonly log: Logger,
    maxUserNameLength: number,
    /** The instance id ([DEFAULT] guest_id): the server_id is derived from it (without it: from the mount point). */
    instanceId?: string,
    /** Where the socket goes (src/common/runtime-dir.ts; default: the one of stateDir). */
    runtimeDir?: string,
  ) {
    this.paths = mysqlPaths(c, stateDir, runtimeDir);
    this.serverId = serverIdFor(instanceId || c.mount_point);
    this.stateFile = `${stateDir}/engine-state.json`;
    if (existsSync(this.stateFile)) {
      const saved = JSON.parse(readFileSync(this.stateFile, 'utf8')) as {
        memoryMb: number;
        overrides: Record<string, unknown>;
        logs?: Record<string, Record<string, string | number>>;
        replica?: boolean;
        writesStopped?: boolean;
        binRoot?: string;
      };
      this.memoryMb = saved.memoryMb;
      this.overrides = saved.overrides;
      this.logs = saved.logs ?? {};
      this.replica = saved.replica ?? false;
      this.writesStopped = saved.writesStopped ?? false;
      this.binRoot = saved.binRoot ?? '';
    }
    this.admin = new MysqlAdmin({
      socket: this.paths.socket,
      adminUser: ADMIN_USER,
      adminPassword: () => readFileSync(this.paths.adminPasswordFile, 'utf8').trim(),
      maxUserNameLength,
    });
  }

  /** The OS user the server runs as: run_as when the agent is root and that user exists, else (undefined) the agent's own user. */
  user(): OsUser | undefined {
    return serverUser(this.c.run_as, 'agent');
  }

  /** The OS user name my.cnf names (none when the agent is not root). */
  private runAsName(): string | undefined {
    return this.user()?.name ?? (process.getuid?.() === 0 ? 'root' : undefined);
  }

  /**
   * What my.cnf sets after a configuration group's overrides: the one directory the server's file
   * statements reach (secure_file_priv: root's FILE privilege goes no further, not to the agent's
   * files, the datadir or /etc), the server's id, a replica's (or a stopped source's) read_only.
   */
  private pinned(): Record<string, string | number> {
    return { secure_file_priv: this.paths.filesDir, server_id: this.serverId, ...(this.replica || this.writesStopped ? { read_only: 1 } : {}) };
  }

  private writeConfig(): void {
    writePrivateFile(
      this.stateFile,
      JSON.stringify({
        memoryMb: this.memoryMb,
        overrides: this.overrides,
        logs: this.logs,
        replica: this.replica,
        writesStopped: this.writesStopped,
        binRoot: this.binRoot,
      }),
    );
    const logOptions = Object.assign({}, ...Object.values(this.logs)) as Record<string, unknown>;
    writeFileSync(this.paths.cnf, renderMyCnf(this.c, this.paths, this.memoryMb, { ...this.overrides, ...logOptions }, this.runAsName(), this.pinned()), {
      mode: 0o644,
    });
  }

  /** The binaries the server runs now. */
  bins(): MysqlBinaries {
    return binariesAt(this.c, this.binRoot);
  }

  /** Runs another build from the next start on (kept with the engine state). */
  useBuild(b: MysqlBinaries): void {
    this.binRoot = b.root;
    this.writeConfig();
  }

  /** The version the running server reports (SELECT VERSION()), e.g. 10.11.19-MariaDB-0+deb12u1. */
  async runningVersion(): Promise<string> {
    const conn = await this.admin.connect();
    try {
      const [rows] = await conn.query('SELECT VERSION() AS v');
      return String((rows as Array<{ v: string }>)[0]!.v);
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  /** Whether this server is a replica (read-only for users; its my.cnf says so). */
  isReplica(): boolean {
    return this.replica;
  }

  /** Makes this server a replica (read_only on now and in my.cnf) or a standalone server again. */
  async setReplica(replica: boolean): Promise<void> {
    this.replica = replica;
    this.writeConfig();
    if (this.isRunning()) await this.applyReadOnly();
  }

  /** Whether users' writes were stopped with setWritesStopped (the server is read-only, now and after restarts). */
  areWritesStopped(): boolean {
    return this.writesStopped;
  }

  /** Stops (true) or allows again (false) users' writes: read_only now and in my.cnf; a replica stays read-only either way. */
  async setWritesStopped(stopped: boolean): Promise<void> {
    this.writesStopped = stopped;
    this.writeConfig();
    if (this.isRunning()) await this.applyReadOnly();
  }

  /** A guest log's my.cnf options (undefined: the log is off). */
  logSettings(name: string): Record<string, string | number> | undefined {
    return this.logs[name];
  }

  /** Keeps a guest log's options in my.cnf from now on (undefined: off). */
  setLogSettings(name: string, settings: Record<string, string | number> | undefined): void {
    if (settings) this.logs[name] = settings;
    else delete this.logs[name];
    this.writeConfig();
  }

  /** The [mysqld] options as my.cnf renders them (memory settings, then the group's overrides on top). */
  settings(): Record<string, string | number | boolean> {
    return effectiveSettings(baseSettings(this.c, this.paths, this.memoryMb, this.runAsName()), { ...this.overrides, ...this.pinned() });
  }

  private ownDirs(): void {
    mkdirSync(this.paths.dataDir, { recursive: true });
    const u = this.user();
    for (const d of [this.c.mount_point, this.paths.dataDir, this.paths.stateDir]) chmodSync(d, 0o755);
    mkdirSync(this.paths.tmpDir, { recursive: true });
    chmodSync(this.paths.tmpDir, 0o700);
    // secure_file_priv: the server's (it writes INTO OUTFILE files there), not the world's
    mkdirSync(this.paths.filesDir, { recursive: true });
    chmodSync(this.paths.filesDir, 0o750);
    chownAll([this.c.mount_point, this.paths.dataDir, this.paths.stateDir, this.paths.tmpDir, this.paths.filesDir], u);
    // the socket's directory, made again before every start (a reboot empties /run)
    makeRuntimeDir(this.paths.runtimeDir, { sub: path.basename(path.dirname(this.paths.socket)), ...(u ? { owner: u } : {}) });
    checkSocketPath(this.paths.socket);
  }

  /** A configuration group's values: kept with the engine state, in my.cnf from now on (read at the next start). */
  setOverrides(overrides: Record<string, string | number | boolean>): void {
    this.overrides = overrides;
    this.writeConfig();
  }

  /** The configuration group's values as the engine has them (what my.cnf renders). */
  currentOverrides(): Record<string, unknown> {
    return { ...this.overrides };
  }

  isRunning(): boolean {
    return isAlive(readPid(this.paths.pidFile));
  }

  async prepared(): Promise<boolean> {
    return existsSync(this.paths.preparedMarker);
  }

  private async initialise(): Promise<void> {
    if (existsSync(this.paths.dataDir) && readdirSync(this.paths.dataDir).length > 0) return;
    this.ownDirs();
    const user = this.user()?.name ?? agentUserName();
    const args =
      this.c.init_style === 'install-db'
        ? // our my.cnf first: the machine's own (/etc/mysql) would give every instance the same tmpdir, error log and pid file
          [
            `--defaults-file=${this.paths.cnf}`,
            `--datadir=${this.paths.dataDir}`,
            `--user=${user}`,
            '--auth-root-authentication-method=normal',
            '--skip-test-db',
            '--skip-name-resolve',
          ]
        : [`--defaults-file=${this.paths.cnf}`, '--initialize-insecure', `--datadir=${this.paths.dataDir}`, `--user=${user}`];
    const b = this.bins();
    if (b.root) args.push(...b.serverArgs.filter((a) => a.startsWith('--basedir=')));
    const bin = this.c.init_style === 'install-db' ? b.installDb : b.mysqld;
    this.log.info({ bin }, 'initialising the data directory');
    const from = logOffset(this.paths.errorLog);
    await run(bin, args, { maxBuffer: 16 * 1024 * 1024 }).catch((err: Error & { stderr?: string }) => {
      const lines = errorTail(this.paths.errorLog, 'bracketed', from) || lastLines(err.stderr ?? err.message);
      throw new EngineFailure(
        `${path.basename(bin)} could not initialise the data directory: ${lines}`,
        `${readSince(this.paths.errorLog, from, 4096)}${(err.stderr ?? '').slice(-4096)}`,
      );
    });
  }

  async start(): Promise<void> {
    if (isAlive(readPid(this.paths.pidFile))) return;
    this.ownDirs();
    this.writeConfig();
    const from = logOffset(this.paths.errorLog);
    const b = this.bins();
    const pid = startDaemon(b.mysqld, [`--defaults-file=${this.paths.cnf}`, ...b.serverArgs], this.paths.errorLog);
    const name = path.basename(b.mysqld);
    await waitForDaemon(async () => (await this.ping()) !== undefined, {
      alive: () => isAlive(pid),
      timeoutMs: this.c.start_timeout * 1000,
      what: 'the database server to accept connections',
      failure: (exited) => {
        const tail = errorTail(this.paths.errorLog, 'bracketed', from);
        const said = tail ? `: ${name}: ${tail}` : ` (${name} wrote no error; its last lines: ${lastLines(readSince(this.paths.errorLog, from)) || 'none'})`;
        return new EngineFailure(
          exited
            ? `${name} exited while starting${said}`
            : `${name} did not accept connections within start_timeout (${this.c.start_timeout} s)${tail ? `: ${name}: ${tail}` : ''}`,
          readSince(this.paths.errorLog, from, 8192),
        );
      },
    });
  }

  /** A real connection over the socket: as os_admin once secured, else root without password. */
  /** The admin's health connection, kept open between checks: a general log gets one Connect line per server start, not two lines per heartbeat. */
  private healthConn: mysql.Connection | undefined;

  private async ping(): Promise<'admin' | 'root' | undefined> {
    if (this.healthConn) {
      try {
        await this.healthConn.ping(); // not a statement: nothing in the general log
        return 'admin';
      } catch {
        this.healthConn.destroy();
        this.healthConn = undefined;
      }
    }
    const attempts: Array<['admin' | 'root', mysql.ConnectionOptions]> = [['root', { user: 'root', password: '' }]];
    if (existsSync(this.paths.adminPasswordFile))
      attempts.unshift(['admin', { user: ADMIN_USER, password: readFileSync(this.paths.adminPasswordFile, 'utf8').trim() }]);
    for (const [who, opts] of attempts) {
      try {
        const conn = await mysql.createConnection({ socketPath: this.paths.socket, connectTimeout: 2000, ...opts });
        conn.on('error', () => undefined); // a server gone away is seen by the next ping
        await conn.ping();
        if (who === 'admin') this.healthConn = conn;
        else await conn.end();
        return who;
      } catch {
        /* try the next identity */
      }
    }
    return undefined;
  }

  /** os_admin with a random password kept 0600; no anonymous users, no test db, root unusable remotely. */
  private async secure(rootPassword?: string): Promise<void> {
    if (existsSync(this.paths.adminPasswordFile) && (await this.ping()) === 'admin') return;
    const pw = generatePassword();
    const conn = await mysql.createConnection({ socketPath: this.paths.socket, user: 'root', password: '' });
    try {
      for (const host of ['localhost', '127.0.0.1']) {
        await conn.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [ADMIN_USER, host, pw]);
        await conn.query('ALTER USER ?@? IDENTIFIED BY ?', [ADMIN_USER, host, pw]);
        await conn.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [ADMIN_USER, host]);
      }
      await conn.query("DELETE FROM mysql.global_priv WHERE User = ''").catch(() => conn.query("DELETE FROM mysql.user WHERE User = ''"));
      await conn.query('DROP DATABASE IF EXISTS test');
      writePrivateFile(this.paths.adminPasswordFile, pw);
      // root stays only as root@localhost, with a password nobody is told (root enable makes root@%).
      const [roots] = await conn.query("SELECT Host AS host FROM mysql.user WHERE User = 'root' AND Host <> 'localhost'");
      for (const r of roots as Array<{ host: string }>) await conn.query("DROP USER 'root'@?", [r.host]);
      await conn.query("ALTER USER 'root'@'localhost' IDENTIFIED BY ?", [rootPassword ?? generatePassword()]);
      await conn.query('FLUSH PRIVILEGES');
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  async prepare(spec: PrepareSpec): Promise<void> {
    const started = Date.now();
    this.memoryMb = spec.memoryMb;
    this.overrides = spec.overrides;
    // the build of the instance's version when several are installed side by side (else the configured one)
    if (spec.dsVersion && this.c.version_dirs.length) this.binRoot = (await findBuild(this.c, spec.dsVersion))?.root ?? '';
    mkdirSync(this.c.mount_point, { recursive: true });
    this.ownDirs();
    this.writeConfig();
    await this.initialise();
    await this.start();
    await this.secure(spec.rootPassword);
    if (spec.databases.length) await this.admin.createDatabases(spec.databases);
    if (spec.users.length) await this.admin.createUsers(spec.users);
    writeFileSync(this.paths.preparedMarker, new Date().toISOString());
    this.log.info({ databases: spec.databases.length, users: spec.users.length, prepare_ms: Date.now() - started }, 'prepare done');
  }

  async stop(): Promise<void> {
    this.healthConn?.destroy();
    this.healthConn = undefined;
    await stopProcess(readPid(this.paths.pidFile), 60_000);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async reconfigure(memoryMb: number): Promise<void> {
    this.memoryMb = memoryMb;
    await this.restart();
  }

  async health(): Promise<HealthStatus> {
    const pid = readPid(this.paths.pidFile);
    if (!isAlive(pid)) return existsSync(this.paths.pidFile) ? 'crashed' : 'shutdown';
    return (await this.ping()) === 'admin' ? 'healthy' : 'blocked';
  }

  /** A full volume refuses users' writes; room again allows them, unless the server is a replica. */
  async setReadOnly(readOnly: boolean): Promise<void> {
    this.volumeFull = readOnly;
    await this.applyReadOnly();
  }

  private async applyReadOnly(): Promise<void> {
    const c = await this.admin.connect();
    try {
      await c.query(`SET GLOBAL read_only = ${this.volumeFull || this.replica || this.writesStopped ? 'ON' : 'OFF'}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async filesystemStats(): Promise<FsStats> {
    return filesystemStats(this.c.mount_point);
  }
}

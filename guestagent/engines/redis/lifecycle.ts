// Prepare, start, stop and watch a Redis server on this machine (the database VM, or an
// all-in-one instance's directory): redis.conf from the flavor, the ACL file with the agent's own
// user, the server started detached (as run_as when the agent is root) and reached over its unix socket.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../../../src/common/log.js';
import { checkSocketPath, makeRuntimeDir } from '../../../src/common/runtime-dir.js';
import type { FsStats, HealthStatus, Lifecycle, PrepareSpec } from '../../capabilities.js';
import { chownAll, serverUser, type OsUser } from '../../platform/os-user.js';
import { isAlive, readPid, startDaemon, stopProcess, waitForDaemon } from '../../platform/process.js';
import { EngineFailure, errorTail, logOffset } from '../../platform/error-tail.js';
import { readSince } from '../../../src/common/file-tail.js';
import { filesystemStats } from '../../platform/volume.js';
import type { Redis } from 'ioredis';
import { RedisAdmin } from './admin-client.js';
import { findRedisBuild, redisBinariesAt, type RedisBinaries } from './binaries.js';
import { redisPaths, type RedisConfig, type RedisPaths } from './config.js';
import { confValue, LOCKED_COMMANDS_DIRECTIVES, renderAcl, renderRedisConf, renderReplication } from './conf-files.js';
import { RedisOverrides, renderOverrides } from './overrides.js';
import { RedisRoot, ROOT_COMMAND_RULES, ROOT_USER } from './root.js';

export class RedisLifecycle implements Lifecycle {
  readonly paths: RedisPaths;
  readonly admin: RedisAdmin;
  readonly root: RedisRoot;
  readonly overrides: RedisOverrides;

  constructor(
    private readonly c: RedisConfig,
    stateDir: string,
    private readonly log: Logger,
    /** Where the socket goes (src/common/runtime-dir.ts; default: the one of stateDir). */
    runtimeDir?: string,
  ) {
    this.paths = redisPaths(c, stateDir, runtimeDir);
    this.binRoot = existsSync(this.paths.buildFile) ? readFileSync(this.paths.buildFile, 'utf8').trim() : '';
    this.admin = new RedisAdmin(this.paths.socket, () => readFileSync(this.paths.adminPasswordFile, 'utf8').trim());
    this.root = new RedisRoot(
      this.admin,
      () => this.applyWriteAccess(),
      () => this.channelRules(),
    );
    this.overrides = new RedisOverrides(this.paths.overridesFile, this.admin, () => this.user(), this.paths.conf);
  }

  /** The version directory of the build the server runs ('' = the configured redis_server_bin), kept in paths.buildFile. */
  private binRoot: string;
  private release: [number, number] | undefined;

  /** The binaries the server runs now. */
  bins(): RedisBinaries {
    return redisBinariesAt(this.c, this.binRoot);
  }

  /** Runs another build from the next start on (kept across restarts of the agent). */
  useBuild(b: RedisBinaries): void {
    this.binRoot = b.root;
    if (b.root) writeFileSync(this.paths.buildFile, `${b.root}\n`, { mode: 0o600 });
    else rmSync(this.paths.buildFile, { force: true });
    this.release = undefined;
  }

  /** The build's redis-server version, major and minor (`redis-server --version`: `Redis server v=7.0.15 ...`), asked once per build. */
  private serverRelease(): [number, number] {
    if (this.release === undefined) {
      const bin = this.bins().server;
      const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
      const m = /\bv=(\d+)\.(\d+)\./.exec(out);
      if (!m) throw new Error(`cannot tell the version of ${bin} from: ${out.trim().slice(0, 200)}`);
      this.release = [Number(m[1]), Number(m[2])];
    }
    return this.release;
  }

  /** The build's redis-server major version. */
  serverMajor(): number {
    return this.serverRelease()[0];
  }

  /** The ACL rule giving a user every pub/sub channel (`&*`, Redis 6.2 and later; 6.0 has no channel rules and refuses it). */
  channelRules(): string[] {
    const [major, minor] = this.serverRelease();
    return major > 6 || (major === 6 && minor >= 2) ? ['&*'] : [];
  }

  /** The OS user the server runs as (undefined when the agent is not root: the agent's own). */
  user(): OsUser | undefined {
    return serverUser(this.c.run_as);
  }

  async prepared(): Promise<boolean> {
    return existsSync(this.paths.preparedMarker);
  }

  /** The data and run directories (0700) and the files the server reads or rewrites, all the server's. */
  private ownFiles(): void {
    mkdirSync(this.c.mount_point, { recursive: true });
    chmodSync(this.c.mount_point, 0o755);
    for (const d of [this.paths.dataDir, this.paths.runDir]) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o700);
    }
    if (!existsSync(this.paths.overridesFile)) writeFileSync(this.paths.overridesFile, renderOverrides({}), { mode: 0o600 });
    if (!existsSync(this.paths.replicationFile)) writeFileSync(this.paths.replicationFile, renderReplication(), { mode: 0o600 });
    // a redis.conf written before replication existed: the include of the replication file, last
    const include = `include ${confValue(this.paths.replicationFile)}`;
    if (existsSync(this.paths.conf) && !readFileSync(this.paths.conf, 'utf8').includes(include)) appendFileSync(this.paths.conf, `${include}\n`);
    // a redis.conf written before the socket moved to the runtime directory: unixsocket where the agent connects
    if (existsSync(this.paths.conf)) {
      const text = readFileSync(this.paths.conf, 'utf8');
      const pinned = text.replace(/^unixsocket .*$/m, `unixsocket ${confValue(this.paths.socket)}`);
      if (pinned !== text) writeFileSync(this.paths.conf, pinned);
    }
    // a redis.conf written before DEBUG and MODULE were switched off: the switches (Redis 7 and later)
    if (existsSync(this.paths.conf) && this.serverMajor() >= 7) {
      const text = readFileSync(this.paths.conf, 'utf8');
      const missing = LOCKED_COMMANDS_DIRECTIVES.filter(([k]) => !new RegExp(`^${k} `, 'm').test(text));
      if (missing.length) appendFileSync(this.paths.conf, missing.map(([k, v]) => `${k} ${confValue(v)}\n`).join(''));
    }
    // the socket's directory, made again before every start (a reboot empties /run)
    const u = this.user();
    makeRuntimeDir(this.paths.runtimeDir, { sub: path.basename(path.dirname(this.paths.socket)), ...(u ? { owner: u } : {}) });
    checkSocketPath(this.paths.socket);
    const files = [this.paths.conf, this.paths.aclFile, this.paths.overridesFile, this.paths.replicationFile].filter((f) => existsSync(f));
    chownAll([this.paths.dataDir, this.paths.runDir, ...files], this.user());
  }

  /** The agent's password (the agent's alone) and the ACL file, once: later changes (root) are saved by the server itself. */
  private writeSecrets(): void {
    if (!existsSync(this.paths.adminPasswordFile)) writeFileSync(this.paths.adminPasswordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    if (!existsSync(this.paths.aclFile))
      writeFileSync(this.paths.aclFile, renderAcl(readFileSync(this.paths.adminPasswordFile, 'utf8').trim(), this.channelRules()), { mode: 0o600 });
  }

  private async ping(): Promise<boolean> {
    return this.admin.run(async (r) => (await r.ping()) === 'PONG').catch(() => false);
  }

  /** `extraArgs` override redis.conf for this run only (a restore starts with `--appendonly no`). */
  async start(extraArgs: string[] = []): Promise<void> {
    const from = logOffset(this.paths.logFile);
    if (!isAlive(readPid(this.paths.pidFile))) {
      this.ownFiles();
      const u = this.user();
      const pid = startDaemon(
        this.bins().server,
        [this.paths.conf, ...extraArgs],
        this.paths.logFile,
        {},
        u ? { uid: u.uid, gid: u.gid, cwd: this.paths.runDir } : undefined,
      );
      writeFileSync(this.paths.pidFile, String(pid));
    }
    await waitForDaemon(() => this.ping(), {
      alive: () => isAlive(readPid(this.paths.pidFile)),
      timeoutMs: this.c.start_timeout * 1000,
      what: 'the Redis server to accept connections',
      failure: (exited) => {
        const tail = errorTail(this.paths.logFile, 'hash', from);
        return new EngineFailure(
          exited
            ? `the Redis server exited while starting${tail ? `: redis-server: ${tail}` : ''}`
            : `the Redis server did not accept connections within start_timeout (${this.c.start_timeout} s)${tail ? `: redis-server: ${tail}` : ''}`,
          readSince(this.paths.logFile, from, 8192),
        );
      },
    });
    await this.applyWriteAccess(); // make_read_only(true) and a replica's limits hold across restarts
  }

  async prepare(spec: PrepareSpec): Promise<void> {
    const started = Date.now();
    // the build of the instance's version when several are installed side by side (else the configured one)
    if (spec.dsVersion && this.c.version_dirs.length) this.useBuild((await findRedisBuild(this.c, spec.dsVersion)) ?? redisBinariesAt(this.c, ''));
    this.ownFiles();
    this.writeSecrets();
    writeFileSync(this.paths.conf, renderRedisConf(this.c, this.paths, spec.memoryMb, this.serverMajor()), { mode: 0o600 });
    writeFileSync(this.paths.overridesFile, renderOverrides(spec.overrides), { mode: 0o600 });
    await this.start();
    if (spec.rootPassword) await this.root.enableRoot(spec.rootPassword);
    writeFileSync(this.paths.preparedMarker, new Date().toISOString());
    this.log.info({ prepare_ms: Date.now() - started }, 'prepare done');
  }

  /**
   * SIGTERM, asked again each second: Redis refuses a shutdown while it writes its first AOF (just
   * after a replica's full sync: "Writing initial AOF, can't exit") and forgets the signal; a
   * signal while it shuts down is harmless. SIGKILL after a minute.
   */
  async stop(): Promise<void> {
    const pid = readPid(this.paths.pidFile);
    for (const deadline = Date.now() + 60_000; isAlive(pid) && Date.now() < deadline;) {
      process.kill(pid!, 'SIGTERM');
      for (let i = 0; i < 10 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    await stopProcess(pid, 1000);
    rmSync(this.paths.pidFile, { force: true });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async reconfigure(memoryMb: number): Promise<void> {
    writeFileSync(this.paths.conf, renderRedisConf(this.c, this.paths, memoryMb, this.serverMajor()), { mode: 0o600 });
    await this.restart();
  }

  async health(): Promise<HealthStatus> {
    if (!isAlive(readPid(this.paths.pidFile))) return existsSync(this.paths.pidFile) ? 'crashed' : 'shutdown';
    return (await this.ping()) ? 'healthy' : 'blocked';
  }

  private volumeFull = false;

  /** A full volume (the status reporter): users' writes refused until there is room again. */
  async setReadOnly(readOnly: boolean): Promise<void> {
    this.volumeFull = readOnly;
    await this.applyWriteAccess();
  }

  /** Whether make_read_only(true) holds (kept in a marker file: a restarted server keeps refusing). */
  writesStopped(): boolean {
    return existsSync(this.paths.writesStoppedMarker);
  }

  /** make_read_only: users' writes stopped (true) or allowed again (false, unless the volume is full). */
  async setWritesStopped(stopped: boolean): Promise<void> {
    if (stopped) writeFileSync(this.paths.writesStoppedMarker, new Date().toISOString(), { mode: 0o600 });
    else rmSync(this.paths.writesStoppedMarker, { force: true });
    await this.applyWriteAccess();
  }

  /** Whether the server replicates from a source (the replication file says where). */
  isReplica(): boolean {
    return existsSync(this.paths.replicationFile) && /^replicaof /m.test(readFileSync(this.paths.replicationFile, 'utf8'));
  }

  /**
   * The clients' user (`default`, root's: the only account users reach the data with): root's
   * commands (ROOT_COMMAND_RULES: none that reaches past the instance), less the write commands
   * while the volume is full or writes are stopped, and then and on a replica (whose writes Redis
   * refuses itself, READONLY) less the admin ones too, so that it cannot leave replication or turn
   * replica-read-only off, nor read the source's account (CONFIG GET masterauth). Redis checks the
   * rules at every command, of connections already open too (MULTI/EXEC and scripts included), and
   * answers NOPERM. The agent's own user keeps everything. Saved to the ACL file (an ACL file of an
   * older agent gave `default` +@all) and applied again at every start.
   */
  async applyWriteAccess(): Promise<void> {
    const refuseWrites = this.volumeFull || this.writesStopped();
    const rules = [
      ...this.channelRules(),
      ...ROOT_COMMAND_RULES,
      ...(refuseWrites ? ['-@write'] : []),
      ...(refuseWrites || this.isReplica() ? ['-@admin'] : []),
    ];
    await this.admin.run(async (r) => {
      await r.call('ACL', 'SETUSER', ROOT_USER, ...rules);
      await this.saveAcl(r);
    });
  }

  /** ACL SAVE, and the file 0600 again (Redis writes a new file with its umask's mode, 0644, and renames it over the old one). */
  async saveAcl(r: Redis): Promise<void> {
    await r.call('ACL', 'SAVE');
    chmodSync(this.paths.aclFile, 0o600);
  }

  async filesystemStats(): Promise<FsStats> {
    return filesystemStats(this.c.mount_point);
  }
}

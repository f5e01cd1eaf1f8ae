// Prepare, start, stop and watch a Redis server on this machine (the database VM, or an
// all-in-one instance's directory): redis.conf from the flavor, the ACL file with the agent's own
// user, the server started detached (as run_as when the agent is root) and reached over its unix socket.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../src/common/log.js';
import type { FsStats, HealthStatus, Lifecycle, PrepareSpec } from '../../capabilities.js';
import { chownAll, serverUser, type OsUser } from '../../platform/os-user.js';
import { isAlive, readPid, startDaemon, stopProcess, waitFor } from '../../platform/process.js';
import { filesystemStats } from '../../platform/volume.js';
import { RedisAdmin } from './admin-client.js';
import { redisPaths, type RedisConfig, type RedisPaths } from './config.js';
import { renderAcl, renderRedisConf } from './conf-files.js';
import { RedisOverrides, renderOverrides } from './overrides.js';
import { RedisRoot, ROOT_USER } from './root.js';

export class RedisLifecycle implements Lifecycle {
  readonly paths: RedisPaths;
  readonly admin: RedisAdmin;
  readonly root: RedisRoot;
  readonly overrides: RedisOverrides;

  constructor(
    private readonly c: RedisConfig,
    stateDir: string,
    private readonly log: Logger,
  ) {
    this.paths = redisPaths(c, stateDir);
    this.admin = new RedisAdmin(this.paths.socket, () => readFileSync(this.paths.adminPasswordFile, 'utf8').trim());
    this.root = new RedisRoot(this.admin);
    this.overrides = new RedisOverrides(this.paths.overridesFile, this.admin, () => this.user(), this.paths.conf);
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
    const files = [this.paths.conf, this.paths.aclFile, this.paths.overridesFile].filter((f) => existsSync(f));
    chownAll([this.paths.dataDir, this.paths.runDir, ...files], this.user());
  }

  /** The agent's password (the agent's alone) and the ACL file, once: later changes (root) are saved by the server itself. */
  private writeSecrets(): void {
    if (!existsSync(this.paths.adminPasswordFile)) writeFileSync(this.paths.adminPasswordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    if (!existsSync(this.paths.aclFile)) writeFileSync(this.paths.aclFile, renderAcl(readFileSync(this.paths.adminPasswordFile, 'utf8').trim()), { mode: 0o600 });
  }

  private async ping(): Promise<boolean> {
    return this.admin.run(async (r) => (await r.ping()) === 'PONG').catch(() => false);
  }

  /** `extraArgs` override redis.conf for this run only (a restore starts with `--appendonly no`). */
  async start(extraArgs: string[] = []): Promise<void> {
    if (!isAlive(readPid(this.paths.pidFile))) {
      this.ownFiles();
      const u = this.user();
      const pid = startDaemon(this.c.redis_server_bin, [this.paths.conf, ...extraArgs], this.paths.logFile, {}, u ? { uid: u.uid, gid: u.gid, cwd: this.paths.runDir } : undefined);
      writeFileSync(this.paths.pidFile, String(pid));
    }
    let exited = false;
    await waitFor(async () => (await this.ping()) || (exited = !isAlive(readPid(this.paths.pidFile))), this.c.start_timeout * 1000, 'the Redis server to accept connections');
    if (exited) {
      const tail = existsSync(this.paths.logFile) ? readFileSync(this.paths.logFile, 'utf8').trim().split('\n').filter((l) => / # /.test(l)).slice(-3).join(' | ') : '';
      throw new Error(`the Redis server exited while starting${tail ? `: ${tail}` : ''}`);
    }
  }

  async prepare(spec: PrepareSpec): Promise<void> {
    const started = Date.now();
    this.ownFiles();
    this.writeSecrets();
    writeFileSync(this.paths.conf, renderRedisConf(this.c, this.paths, spec.memoryMb), { mode: 0o600 });
    writeFileSync(this.paths.overridesFile, renderOverrides(spec.overrides), { mode: 0o600 });
    await this.start();
    if (spec.rootPassword) await this.root.enableRoot(spec.rootPassword);
    writeFileSync(this.paths.preparedMarker, new Date().toISOString());
    this.log.info({ prepare_ms: Date.now() - started }, 'prepare done');
  }

  async stop(): Promise<void> {
    await stopProcess(readPid(this.paths.pidFile), 60_000);
    rmSync(this.paths.pidFile, { force: true });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async reconfigure(memoryMb: number): Promise<void> {
    writeFileSync(this.paths.conf, renderRedisConf(this.c, this.paths, memoryMb), { mode: 0o600 });
    await this.restart();
  }

  async health(): Promise<HealthStatus> {
    if (!isAlive(readPid(this.paths.pidFile))) return existsSync(this.paths.pidFile) ? 'crashed' : 'shutdown';
    return (await this.ping()) ? 'healthy' : 'blocked';
  }

  /** Takes the write commands from the clients' user (the agent's own keeps them); not saved to the ACL file. */
  async setReadOnly(readOnly: boolean): Promise<void> {
    await this.admin.run((r) => r.call('ACL', 'SETUSER', ROOT_USER, readOnly ? '-@write' : '+@all'));
  }

  async filesystemStats(): Promise<FsStats> {
    return filesystemStats(this.c.mount_point);
  }
}

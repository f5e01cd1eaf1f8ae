// An in-place upgrade of a MySQL-family server (Trove's upgrade, here with a way back): stop the
// server, keep a copy of its data directory, start the target version's build on the data, run
// the engine's own upgrade step (mariadb-upgrade: the system tables), check health and version.
// Any failure stops the new server, puts the copy back and starts the old build: the instance is
// as it was, and the error says why in the engine's words.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../../src/common/log.js';
import type { Upgrade } from '../../capabilities.js';
import { EngineFailure, lastLines } from '../../platform/error-tail.js';
import { switchBuild } from '../build-swap.js';
import { describeBuilds, findBuild } from './binaries.js';
import type { MysqlBackup } from './backup.js';
import type { MysqlLifecycle } from './lifecycle.js';
import type { MysqlFamilyConfig } from './settings.js';

const run = promisify(execFile);

type ExecError = Error & { stderr?: string; stdout?: string };

export class MysqlUpgrade implements Upgrade {
  constructor(
    private readonly c: MysqlFamilyConfig,
    private readonly lc: MysqlLifecycle,
    private readonly backup: MysqlBackup,
    private readonly log: Logger,
  ) {}

  async upgrade(version: string): Promise<{ version: string }> {
    const target = await findBuild(this.c, version);
    if (!target)
      throw new EngineFailure(`No build of version ${version} is installed on this server (found: ${await describeBuilds(this.c)}); nothing was changed.`);
    const oldVersion = await this.lc.runningVersion().catch(() => 'its old version');
    this.log.info({ from: oldVersion, to: version, server: target.mysqld }, 'upgrade: stopping the server');
    return switchBuild(this.lc, {
      target,
      keep: [this.lc.paths.dataDir],
      from: oldVersion,
      to: version,
      log: this.log,
      check: async () => {
        if (target.upgrade) await this.upgradeStep(target.upgrade);
        const now = await this.lc.runningVersion();
        if (!now.startsWith(version)) throw new EngineFailure(`${path.basename(target.mysqld)} reports version ${now}, not ${version}`);
        const health = await this.lc.health();
        if (health !== 'healthy') throw new EngineFailure(`the server is ${health} after the upgrade`);
        return now;
      },
    });
  }

  /** The engine's upgrade program (mariadb-upgrade) over the socket as os_admin (credentials in a 0600 option file, never argv). */
  private async upgradeStep(bin: string): Promise<void> {
    if (!existsSync(bin)) throw new EngineFailure(`the upgrade program ${bin} is not installed`);
    const cnf = this.backup.credentialsFile();
    this.log.info({ bin }, 'upgrade: running the engine upgrade step');
    try {
      await run(bin, [`--defaults-file=${cnf}`], { maxBuffer: 16 * 1024 * 1024, timeout: 30 * 60_000 });
    } catch (err) {
      const x = err as ExecError;
      throw new EngineFailure(`${path.basename(bin)} failed: ${lastLines(x.stderr || x.stdout || x.message)}`, `${x.stdout ?? ''}${x.stderr ?? ''}`);
    }
  }
}

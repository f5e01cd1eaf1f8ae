// A MySQL-family server's guest logs: the error log (SYS, always on) and the general and
// slow_query logs (USER), written to <mount_point>/logs on the data volume. Enabling sets them on
// the running server with SET GLOBAL and keeps them in my.cnf (the lifecycle's log settings), so a
// restart keeps them on; no restart is ever needed. The agent's own statements stay out of the
// general log: its admin connections run with sql_log_off (admin.ts).
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { serverUser, chownAll } from '../../platform/os-user.js';
import type { LogDefinition, LogState, Logs } from '../../capabilities.js';
import type { MysqlAdmin } from './admin.js';
import type { MysqlFamilyConfig, MysqlPaths } from './settings.js';

/** What the logs need of the lifecycle: its files and the log settings it renders into my.cnf. */
export interface LogSettingsStore {
  readonly paths: MysqlPaths;
  readonly admin: MysqlAdmin;
  isRunning(): boolean;
  logSettings(name: string): Record<string, string | number> | undefined;
  setLogSettings(name: string, settings: Record<string, string | number> | undefined): void;
}

export class MysqlLogs implements Logs {
  private readonly dir: string;
  private readonly exposed: Set<string>;

  constructor(
    private readonly c: MysqlFamilyConfig,
    private readonly store: LogSettingsStore,
  ) {
    this.dir = path.join(c.mount_point, 'logs');
    this.exposed = new Set(
      c.guest_log_exposed_logs
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  }

  definitions(): LogDefinition[] {
    const def = (name: string, type: 'USER' | 'SYS', file: string): LogDefinition => ({ name, type, file, exposed: this.exposed.has(name) });
    return [
      def('general', 'USER', path.join(this.dir, 'general.log')),
      def('slow_query', 'USER', path.join(this.dir, 'slow_query.log')),
      def('error', 'SYS', this.store.paths.errorLog),
    ];
  }

  /** The settings that turn a USER log on (my.cnf option names; SET GLOBAL takes the same). */
  private settingsFor(name: string): Record<string, string | number> {
    if (name === 'general') return { general_log_file: path.join(this.dir, 'general.log'), general_log: 1 };
    if (name === 'slow_query')
      return { slow_query_log_file: path.join(this.dir, 'slow_query.log'), long_query_time: this.c.guest_log_long_query_time / 1000, slow_query_log: 1 };
    throw new Error(`no USER log '${name}'`);
  }

  async state(name: string): Promise<LogState> {
    return this.store.logSettings(name) ? 'enabled' : 'disabled';
  }

  async setEnabled(name: string, enabled: boolean): Promise<LogState> {
    const settings = this.settingsFor(name);
    if (enabled) this.ownDir();
    if (this.store.isRunning()) {
      const c = await this.store.admin.connect();
      try {
        if (enabled) for (const [k, v] of Object.entries(settings)) await c.query(`SET GLOBAL ${k} = ?`, [v]);
        else await c.query(`SET GLOBAL ${name === 'general' ? 'general_log' : 'slow_query_log'} = 0`);
      } finally {
        await c.end().catch(() => undefined);
      }
    }
    this.store.setLogSettings(name, enabled ? settings : undefined);
    return enabled ? 'enabled' : 'disabled';
  }

  /** <mount_point>/logs, the server's to write (and readable by the agent). */
  private ownDir(): void {
    mkdirSync(this.dir, { recursive: true });
    chmodSync(this.dir, 0o755);
    chownAll([this.dir], serverUser(this.c.run_as, 'agent')); // no such user: the server runs as the agent's user
  }
}

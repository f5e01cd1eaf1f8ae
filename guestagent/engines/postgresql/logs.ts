// PostgreSQL's guest logs. The server's logging collector writes <mount_point>/logs/postgresql.log
// (postgresql.conf, from prepare on): the `general` USER log, the server's messages plus, while
// enabled, every statement (log_statement = all) and the duration of those slower than
// guest_log_long_query_time (log_min_duration_statement), set in conf.d/trove-guest-log.conf and
// applied by a reload. A server started without the collector (an instance prepared before it was
// configured) says "Restart Required" until its restart. The SYS log `server` is what the server
// writes to its standard error (pg_ctl's log): its start, and anything before the collector runs.
// The agent's own role logs no statements (ALTER ROLE ... SET log_statement = 'none').
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LogDefinition, LogState, Logs } from '../../capabilities.js';
import { chownAll } from '../../platform/os-user.js';
import { ADMIN_ROLE } from './admin.js';
import { confValue } from './conf-files.js';
import type { PostgresqlConfig } from './config.js';
import type { PgLifecycle } from './lifecycle.js';

export class PgLogs implements Logs {
  private readonly exposed: Set<string>;
  private readonly confFile: string;

  constructor(
    private readonly c: PostgresqlConfig,
    private readonly lc: PgLifecycle,
  ) {
    this.exposed = new Set(
      c.guest_log_exposed_logs
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    this.confFile = path.join(path.dirname(lc.paths.overridesFile), 'trove-guest-log.conf');
  }

  definitions(): LogDefinition[] {
    return [
      { name: 'general', type: 'USER', file: path.join(this.lc.paths.logDir, 'postgresql.log'), exposed: this.exposed.has('general') },
      { name: 'server', type: 'SYS', file: this.lc.paths.logFile, exposed: this.exposed.has('server') },
    ];
  }

  /** Whether the running server's collector is off (undefined: not running). */
  private async collectorOff(): Promise<boolean | undefined> {
    return this.lc.admin
      .run(async (c) => (await c.query<{ logging_collector: string }>('SHOW logging_collector')).rows[0]?.logging_collector === 'off')
      .catch(() => undefined);
  }

  async state(name: string): Promise<LogState> {
    if (name !== 'general') throw new Error(`no USER log '${name}'`);
    if (!existsSync(this.confFile)) return 'disabled';
    return (await this.collectorOff()) ? 'restart-required' : 'enabled';
  }

  async setEnabled(name: string, enabled: boolean): Promise<LogState> {
    if (name !== 'general') throw new Error(`no USER log '${name}'`);
    if (enabled) {
      // the agent's own sessions (passwords in CREATE ROLE among them) stay out of the log: set on its role, read at each connection
      await this.lc.admin
        .run(async (c) => {
          await c.query(`ALTER ROLE ${ADMIN_ROLE} SET log_statement = 'none'`);
          await c.query(`ALTER ROLE ${ADMIN_ROLE} SET log_min_duration_statement = -1`);
        })
        .catch(() => undefined); // not running: set at the next enable
      const settings: Record<string, string | number> = {
        logging_collector: 'on',
        log_destination: 'stderr',
        log_directory: this.lc.paths.logDir,
        log_filename: 'postgresql.log',
        log_statement: 'all',
        log_min_duration_statement: this.c.guest_log_long_query_time,
      };
      const body = [
        '# the general guest log, written by the trove-ts guest agent',
        ...Object.entries(settings).map(([k, v]) => `${k} = ${confValue(v)}`),
        '',
      ].join('\n');
      writeFileSync(this.confFile, body, { mode: 0o600 });
      chownAll([this.confFile], this.lc.user());
    } else rmSync(this.confFile, { force: true });
    await this.lc.admin.run((c) => c.query('SELECT pg_reload_conf()')).catch(() => undefined); // not running: read at its start
    return this.state(name);
  }
}

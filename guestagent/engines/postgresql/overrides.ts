// A configuration group on PostgreSQL: update_overrides writes conf.d/trove-overrides.conf (read at
// every start and reload); apply_overrides sets the dynamic values live with ALTER SYSTEM and a
// reload. The next update_overrides resets those ALTER SYSTEM values so the file is the authority again.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { InvalidValueError, type Configuration } from '../../capabilities.js';
import type { PgAdmin } from './admin.js';
import { confValue, parseConf } from './conf-files.js';
import { chownAll, type OsUser } from '../../platform/os-user.js';

/** Parameters the agent owns: a configuration group cannot move the server off its address or files. */
const AGENT_OWNED = [
  'listen_addresses',
  'port',
  'unix_socket_directories',
  'unix_socket_permissions',
  'unix_socket_group',
  'hba_file',
  'ident_file',
  'data_directory',
  'config_file',
  'external_pid_file',
  'include',
  'include_dir',
  'include_if_exists',
];
/** Set by the agent itself (a full volume), never reset by a configuration group. */
export const READ_ONLY_KEY = 'default_transaction_read_only';

function check(overrides: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(overrides).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(k)) throw new InvalidValueError(`'${k}' is not a configuration parameter name.`);
    if (AGENT_OWNED.includes(k.toLowerCase()) || k.toLowerCase() === READ_ONLY_KEY)
      throw new InvalidValueError(`The parameter '${k}' is managed by the guest agent.`);
    const s = typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v);
    if (/[\x00-\x1f]/.test(s)) throw new InvalidValueError(`The value of '${k}' contains characters that are not allowed.`);
    return [k, s];
  });
}

export class PgOverrides implements Configuration {
  constructor(
    private readonly file: string,
    private readonly admin: PgAdmin,
    private readonly owner: () => OsUser | undefined,
    private readonly running: () => boolean,
    /** postgresql.conf, as the agent renders it (read back for the effective settings). */
    private readonly confFile: string,
  ) {}

  /** postgresql.conf's settings (memory included) with the group's overrides file on top. */
  async effectiveSettings(): Promise<Record<string, string | number>> {
    const read = (f: string) => (existsSync(f) ? parseConf(readFileSync(f, 'utf8')) : {});
    return { ...read(this.confFile), ...read(this.file) };
  }

  async updateOverrides(overrides: Record<string, unknown>, remove: boolean): Promise<void> {
    const entries = remove ? [] : check(overrides);
    if (remove) rmSync(this.file, { force: true });
    else {
      const dir = path.dirname(this.file);
      if (!existsSync(dir)) mkdirSync(dir, { mode: 0o700 });
      const body = ['# the configuration group, written by the trove-ts guest agent', ...entries.map(([k, v]) => `${k} = ${confValue(v)}`), ''].join('\n');
      writeFileSync(this.file, body, { mode: 0o600 });
      chownAll([dir, this.file], this.owner());
    }
    if (!this.running()) return;
    await this.admin.run(async (c) => {
      const { rows } = await c.query<{ name: string }>(
        "SELECT DISTINCT name FROM pg_file_settings WHERE sourcefile = current_setting('data_directory') || '/postgresql.auto.conf' AND name <> $1",
        [READ_ONLY_KEY],
      );
      for (const r of rows) await c.query(`ALTER SYSTEM RESET ${pg.escapeIdentifier(r.name)}`);
      await c.query('SELECT pg_reload_conf()');
    });
  }

  async applyOverrides(overrides: Record<string, unknown>): Promise<void> {
    const entries = check(overrides);
    await this.admin.run(async (c) => {
      for (const [k, v] of entries) {
        await c.query(`ALTER SYSTEM SET ${k} = ${pg.escapeLiteral(v)}`).catch((err: { code?: string; message: string }) => {
          if (err.code?.startsWith('22') || err.code === '42704') throw new InvalidValueError(`${k}: ${err.message}`);
          throw err;
        });
      }
      await c.query('SELECT pg_reload_conf()');
    });
  }
}

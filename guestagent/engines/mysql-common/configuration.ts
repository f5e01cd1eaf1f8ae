// A configuration group on a MySQL-family server: update_overrides keeps the values with the
// engine state and writes them into my.cnf (in effect from the next start); apply_overrides sets
// the dynamic ones on the running server with SET GLOBAL.
import { InvalidValueError, type Configuration } from '../../capabilities.js';
import type { MysqlAdmin } from './admin.js';

const NAME = /^[a-z_][a-z0-9_]*$/;
/** Options the agent owns: a configuration group cannot move the server off its files or address. */
const AGENT_OWNED = new Set([
  'datadir',
  'socket',
  'port',
  'bind_address',
  'pid_file',
  'log_error',
  'user',
  'skip_networking',
  'init_file',
  'plugin_dir',
  'plugin_load',
  'plugin_load_add',
  'secure_file_priv',
  'tmpdir',
  'basedir',
  'read_only',
  'log_bin',
  'relay_log',
  'log_slave_updates',
  'skip_slave_start',
  'gtid_slave_pos',
]);
/** Options my.cnf pins after the group's values (the lifecycle's): a group may name them, they are not applied. */
const PINNED = new Set(['server_id']);
const CONTROL = /[\u0000-\u001f\u007f]/;

export type ScalarOverrides = Record<string, string | number | boolean>;

/** Names and values the engine takes: lower-case option names, scalars, no control characters. */
export function checkOverrides(overrides: Record<string, unknown>): ScalarOverrides {
  const out: ScalarOverrides = {};
  for (const [k, v] of Object.entries(overrides)) {
    if (!NAME.test(k)) throw new InvalidValueError(`'${k}' is not a configuration parameter name.`);
    if (AGENT_OWNED.has(k)) throw new InvalidValueError(`The parameter '${k}' is managed by the guest agent.`);
    if (!((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string' || typeof v === 'boolean')) {
      throw new InvalidValueError(`The value of '${k}' must be a number, a string or a boolean.`);
    }
    if (typeof v === 'string' && CONTROL.test(v)) throw new InvalidValueError(`The value of '${k}' contains characters that are not allowed.`);
    out[k] = v;
  }
  return out;
}

/** What the configuration capability needs of the lifecycle: the overrides it renders into my.cnf. */
export interface OverridesStore {
  setOverrides(overrides: ScalarOverrides): void;
  isRunning(): boolean;
  /** The [mysqld] options my.cnf renders, overrides included. */
  settings(): Record<string, string | number | boolean>;
}

export class MysqlConfiguration implements Configuration {
  constructor(
    private readonly store: OverridesStore,
    private readonly admin: MysqlAdmin,
  ) {}

  async updateOverrides(overrides: Record<string, unknown>, remove: boolean): Promise<void> {
    const checked = checkOverrides(overrides);
    // Trove: remove drops the group's file, then non-empty overrides replace it; empty ones without remove change nothing
    if (!remove && Object.keys(checked).length === 0) return;
    this.store.setOverrides(checked);
  }

  async effectiveSettings(): Promise<Record<string, string | number | boolean>> {
    return this.store.settings();
  }

  async applyOverrides(overrides: Record<string, unknown>): Promise<void> {
    const checked = checkOverrides(overrides);
    if (!this.store.isRunning()) return; // the next start reads them from my.cnf
    const c = await this.admin.connect();
    try {
      for (const [k, v] of Object.entries(checked)) {
        if (PINNED.has(k)) continue; // a source and its replicas must keep their own ids
        // the name is checked above (it cannot be bound); the value is bound
        await c.query(`SET GLOBAL ${k} = ?`, [typeof v === 'boolean' ? (v ? 1 : 0) : v]).catch((err: { code?: string; message: string }) => {
          if (
            err.code === 'ER_WRONG_VALUE_FOR_VAR' ||
            err.code === 'ER_WRONG_TYPE_FOR_VAR' ||
            err.code === 'ER_INCORRECT_GLOBAL_LOCAL_VAR' ||
            err.code === 'ER_UNKNOWN_SYSTEM_VARIABLE'
          ) {
            throw new InvalidValueError(`${k}: ${err.message}`);
          }
          throw err;
        });
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

// A configuration group on Redis: update_overrides writes the include file redis.conf reads at
// every start; apply_overrides sets the dynamic values on the running server (one atomic CONFIG SET).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { InvalidValueError, type Configuration } from '../../capabilities.js';
import type { RedisAdmin } from './admin-client.js';
import { confValue, parseConf } from './conf-files.js';
import { chownAll, type OsUser } from '../../platform/os-user.js';

/** Directives the agent owns: a configuration group cannot move the server, its files or its users. */
const AGENT_OWNED = [
  'bind',
  'port',
  'unixsocket',
  'unixsocketperm',
  'dir',
  'dbfilename',
  'appendfilename',
  'appenddirname',
  'pidfile',
  'logfile',
  'aclfile',
  'include',
  'requirepass',
  'masterauth',
  'masteruser',
  'user',
  'rename-command',
  'daemonize',
  'supervised',
  'protected-mode',
  'enable-debug-command',
  'enable-module-command',
  'enable-protected-configs',
  'loadmodule',
  'replicaof',
  'slaveof',
  'replica-read-only',
  'slave-read-only',
];

function check(overrides: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(overrides).map(([k, v]) => {
    if (!/^[a-z][a-z0-9-]{0,63}$/.test(k)) throw new InvalidValueError(`'${k}' is not a configuration parameter name.`);
    if (AGENT_OWNED.includes(k)) throw new InvalidValueError(`The parameter '${k}' is managed by the guest agent.`);
    const s = typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
    if (/[\x00-\x1f]/.test(s)) throw new InvalidValueError(`The value of '${k}' contains characters that are not allowed.`);
    return [k, s];
  });
}

export function renderOverrides(overrides: Record<string, unknown>): string {
  return ['# the configuration group, written by the trove-ts guest agent', ...check(overrides).map(([k, v]) => `${k} ${confValue(v)}`), ''].join('\n');
}

export class RedisOverrides implements Configuration {
  constructor(
    private readonly file: string,
    private readonly admin: RedisAdmin,
    private readonly owner: () => OsUser | undefined,
    /** redis.conf, as the agent renders it (read back for the effective settings). */
    private readonly confFile: string,
  ) {}

  /** redis.conf's directives (maxmemory from the flavor included) with the group's overrides on top. */
  async effectiveSettings(): Promise<Record<string, string | number>> {
    const read = (f: string) => (existsSync(f) ? parseConf(readFileSync(f, 'utf8')) : {});
    return { ...read(this.confFile), ...read(this.file) };
  }

  async updateOverrides(overrides: Record<string, unknown>, remove: boolean): Promise<void> {
    writeFileSync(this.file, renderOverrides(remove ? {} : overrides), { mode: 0o600 });
    chownAll([this.file], this.owner());
  }

  async applyOverrides(overrides: Record<string, unknown>): Promise<void> {
    const entries = check(overrides);
    if (!entries.length) return;
    await this.admin.run(async (r) => {
      await r.call('CONFIG', 'SET', ...entries.flat()).catch((err: Error) => {
        if (/^ERR/.test(err.message)) throw new InvalidValueError(err.message.replace(/^ERR\s*/, ''));
        throw err;
      });
    });
  }
}

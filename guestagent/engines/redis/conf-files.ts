// redis.conf from the flavor's memory, and the ACL file: the agent's own user, and the `default`
// user (the one clients use) switched off until root is enabled.
import { createHash } from 'node:crypto';
import type { RedisConfig, RedisPaths } from './config.js';
import { ROOT_COMMAND_RULES } from './root.js';

export const ADMIN_USER = 'os_admin';

/** A value in redis.conf syntax: double-quoted, with backslashes and quotes escaped. */
export const confValue = (v: unknown): string => `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Three quarters of the RAM for the dataset, the rest for the server, forks and buffers. */
export const maxMemoryMb = (memoryMb: number): number => Math.max(16, Math.floor(memoryMb * 0.75));

/**
 * Redis 7's switches for DEBUG and MODULE, off for every connection (the agent's too: it needs
 * neither); older servers do not know them (and refuse to start on a directive they do not know).
 */
export const LOCKED_COMMANDS_DIRECTIVES: ReadonlyArray<[string, string]> = [
  ['enable-debug-command', 'no'],
  ['enable-module-command', 'no'],
];

/** `serverMajor`: the installed redis-server's major version (RedisLifecycle.serverMajor). */
export function renderRedisConf(c: RedisConfig, p: RedisPaths, memoryMb: number, serverMajor = 7): string {
  const base: Array<[string, unknown]> = [
    ['port', c.port],
    ['unixsocket', p.socket],
    ['unixsocketperm', '700'],
    ['protected-mode', 'no'], // the ACL file guards every connection
    ['daemonize', 'no'],
    ['logfile', ''], // standard output, appended to the agent's redis.log
    ['dir', p.dataDir],
    ['dbfilename', 'dump.rdb'],
    ['appendonly', 'yes'],
    ['maxmemory', `${maxMemoryMb(memoryMb)}mb`],
    ['aclfile', p.aclFile],
    ...(serverMajor >= 7 ? LOCKED_COMMANDS_DIRECTIVES : []),
  ];
  const bind = c.bind_host === '0.0.0.0' ? '* -::*' : confValue(c.bind_host);
  const lines = ['# written by the trove-ts guest agent; configuration group overrides are in the include at the end', `bind ${bind}`];
  for (const [k, v] of base) lines.push(`${k} ${confValue(v)}`);
  lines.push(`include ${confValue(p.overridesFile)}`, `include ${confValue(p.replicationFile)}`, '');
  return lines.join('\n');
}

/** Where a replica replicates from (its account's password included: the file is the server's, 0600), or nothing on a source. */
export function renderReplication(master?: { host: string; port: number; user: string; password: string }): string {
  const lines = ['# replication, written by the trove-ts guest agent (empty: this server replicates from nothing)'];
  if (master) {
    lines.push(
      `replicaof ${confValue(master.host)} ${confValue(master.port)}`,
      `masteruser ${confValue(master.user)}`,
      `masterauth ${confValue(master.password)}`,
      'replica-read-only yes',
    );
  }
  lines.push('');
  return lines.join('\n');
}

/** The directives of a file written by renderRedisConf or renderOverrides (include left out): confValue unquoted, numbers as numbers. */
export function parseConf(text: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const m of text.matchAll(/^([a-z][a-z0-9-]*)[ \t]+(.+)$/gm)) {
    const [, k, raw] = m as unknown as [string, string, string];
    if (k === 'include') continue;
    const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(raw.trim());
    const v = quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : raw.trim();
    out[k] = /^-?\d+$/.test(v) ? Number(v) : v;
  }
  return out;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The initial ACL file: the agent's user by its password's hash (every command: it replicates,
 * configures, saves); `default` (root) off, without a password, with root's commands only.
 * `channels`: every pub/sub channel (`&*`) where the server knows channel rules (6.2 and later).
 */
export function renderAcl(adminPassword: string, channels: readonly string[] = ['&*']): string {
  const ch = channels.map((c) => ` ${c}`).join('');
  return [`user ${ADMIN_USER} on #${sha256(adminPassword)} ~*${ch} +@all`, `user default off resetpass ~*${ch} ${ROOT_COMMAND_RULES.join(' ')}`, ''].join('\n');
}

// my.cnf rendered from the flavor's memory and a configuration group's overrides.
import { createHash } from 'node:crypto';
import type { MysqlFamilyConfig, MysqlPaths } from './settings.js';

const MB = 1024 * 1024;
/** The binary logs' base name (files `<datadir>/mysql-bin.000001`, …, and the index `mysql-bin.index`). */
export const BINLOG_BASENAME = 'mysql-bin';

/** The relay logs' base name on a replica (fixed: the default follows the host name, which may change). */
export const RELAY_LOG_BASENAME = 'relay-bin';

/**
 * A server_id (1 to 2^32-2) derived from the instance id, the same at every start: a source and its
 * replicas must all differ, and a replica must keep its own across restarts.
 */
export function serverIdFor(instanceId: string): number {
  return (createHash('sha256').update(instanceId).digest().readUInt32BE(0) % 0xfffffffe) + 1;
}

/** Memory-derived settings: half the RAM for the buffer pool, connections scaled with RAM. */
export function memorySettings(memoryMb: number): Record<string, string | number> {
  const pool = Math.max(32, Math.floor(memoryMb * 0.5));
  return {
    innodb_buffer_pool_size: pool * MB,
    max_connections: Math.min(4000, Math.max(50, Math.floor(memoryMb / 12))),
    table_open_cache: Math.min(8000, Math.max(400, Math.floor(memoryMb / 2))),
    tmp_table_size: Math.max(16, Math.floor(memoryMb / 64)) * MB,
    max_heap_table_size: Math.max(16, Math.floor(memoryMb / 64)) * MB,
  };
}

function line(k: string, v: unknown): string {
  if (v === true || v === '') return k;
  return `${k} = ${String(v)}`;
}

/** The [mysqld] options my.cnf sets before a configuration group's overrides. */
export function baseSettings(c: MysqlFamilyConfig, p: MysqlPaths, memoryMb: number, runAs?: string): Record<string, unknown> {
  return {
    datadir: p.dataDir,
    socket: p.socket,
    port: c.port,
    'bind-address': c.bind_host,
    'pid-file': p.pidFile,
    'log-error': p.errorLog,
    tmpdir: p.tmpDir,
    'skip-name-resolve': true,
    'character-set-server': 'utf8mb4',
    'collation-server': 'utf8mb4_general_ci',
    innodb_file_per_table: 1,
    // binary logs in the data directory: the guest archives the closed ones for point-in-time restores
    log_bin: BINLOG_BASENAME,
    expire_logs_days: 7,
    // as without binary logs: users without SUPER may still create stored functions
    log_bin_trust_function_creators: 1,
    // replication (and point-in-time replay): row events, a replica's applied events in its own
    // binary log too (it can become a source), relay logs by a fixed name; server_id is pinned (renderMyCnf)
    binlog_format: 'ROW',
    log_slave_updates: 1,
    relay_log: RELAY_LOG_BASENAME,
    ...(runAs ? { user: runAs } : {}),
    ...memorySettings(memoryMb),
  };
}

/** What the server runs with: the base options and the overrides on top, by option name (MySQL reads '-' and '_' alike). */
export function effectiveSettings(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  // the overrides come last, so they win over a base option of either spelling
  for (const [k, v] of [...Object.entries(base), ...Object.entries(overrides)])
    out[k.replace(/-/g, '_')] = typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
  return out;
}

/** `pinned`: options the agent sets after the overrides, so a group cannot undo them (secure_file_priv, server_id, a replica's read_only). */
export function renderMyCnf(
  c: MysqlFamilyConfig,
  p: MysqlPaths,
  memoryMb: number,
  overrides: Record<string, unknown> = {},
  runAs?: string,
  pinned: Record<string, unknown> = {},
): string {
  const base = baseSettings(c, p, memoryMb, runAs);
  const lines = ['# written by the trove-ts guest agent; overrides come from the configuration group', '[mysqld]'];
  for (const [k, v] of Object.entries(base)) lines.push(line(k, v));
  if (Object.keys(overrides).length) {
    lines.push('', '# configuration group overrides');
    for (const [k, v] of Object.entries(overrides)) lines.push(line(k, v));
  }
  if (Object.keys(pinned).length) {
    lines.push('', '# set by the guest agent after the group: file access, replication identity and role');
    for (const [k, v] of Object.entries(pinned)) lines.push(line(k, v));
  }
  lines.push('', '[client]', `socket = ${p.socket}`, '');
  return lines.join('\n');
}

// my.cnf rendered from the flavor's memory and a configuration group's overrides.
import type { MysqlFamilyConfig, MysqlPaths } from './settings.js';

const MB = 1024 * 1024;
/** The binary logs' base name (files `<datadir>/mysql-bin.000001`, …, and the index `mysql-bin.index`). */
export const BINLOG_BASENAME = 'mysql-bin';

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
    'innodb_file_per_table': 1,
    // binary logs in the data directory: the guest archives the closed ones for point-in-time restores
    log_bin: BINLOG_BASENAME,
    expire_logs_days: 7,
    // as without binary logs: users without SUPER may still create stored functions
    log_bin_trust_function_creators: 1,
    ...(runAs ? { user: runAs } : {}),
    ...memorySettings(memoryMb),
  };
}

/** What the server runs with: the base options and the overrides on top, by option name (MySQL reads '-' and '_' alike). */
export function effectiveSettings(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  // the overrides come last, so they win over a base option of either spelling
  for (const [k, v] of [...Object.entries(base), ...Object.entries(overrides)]) out[k.replace(/-/g, '_')] = typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
  return out;
}

export function renderMyCnf(c: MysqlFamilyConfig, p: MysqlPaths, memoryMb: number, overrides: Record<string, unknown> = {}, runAs?: string): string {
  const base = baseSettings(c, p, memoryMb, runAs);
  const lines = ['# written by the trove-ts guest agent; overrides come from the configuration group', '[mysqld]'];
  for (const [k, v] of Object.entries(base)) lines.push(line(k, v));
  if (Object.keys(overrides).length) {
    lines.push('', '# configuration group overrides');
    for (const [k, v] of Object.entries(overrides)) lines.push(line(k, v));
  }
  lines.push('', '[client]', `socket = ${p.socket}`, '');
  return lines.join('\n');
}

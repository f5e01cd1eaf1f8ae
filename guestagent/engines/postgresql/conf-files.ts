// postgresql.conf from the flavor's memory, and the client authentication files: users by
// scram-sha-256 over TCP from anywhere, the agent's admin role only over the unix socket, by peer
// (replication connections too: pg_basebackup for backups).
import { ADMIN_ROLE } from './admin.js';
import type { PostgresqlConfig, PostgresqlPaths } from './config.js';

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.floor(n)));

/** Memory-derived settings: a quarter of the RAM for shared buffers, three quarters as the planner's cache estimate. */
export function memorySettings(memoryMb: number): Record<string, string | number> {
  return {
    shared_buffers: `${clamp(memoryMb * 0.25, 16, 64 * 1024)}MB`,
    effective_cache_size: `${clamp(memoryMb * 0.75, 64, 1024 * 1024)}MB`,
    max_connections: clamp(memoryMb / 8, 25, 1000),
    maintenance_work_mem: `${clamp(memoryMb / 16, 16, 2048)}MB`,
  };
}

/** The instance's own files in the data directory: never taken from a backup, kept through a pg_rewind (which copies the source's). */
export const INSTANCE_FILES = ['postgresql.conf', 'postgresql.auto.conf', 'pg_hba.conf', 'pg_ident.conf', 'conf.d'];

/** A value in postgresql.conf syntax: always quoted, quotes doubled. */
export const confValue = (v: unknown): string => `'${String(v).replace(/'/g, "''")}'`;

export function renderPostgresqlConf(c: PostgresqlConfig, p: PostgresqlPaths, memoryMb: number): string {
  const base: Record<string, unknown> = {
    listen_addresses: c.bind_host === '0.0.0.0' ? '*' : c.bind_host,
    port: c.port,
    unix_socket_directories: p.socketDir,
    unix_socket_permissions: '0700',
    password_encryption: 'scram-sha-256',
    hba_file: `${p.dataDir}/pg_hba.conf`,
    ident_file: `${p.dataDir}/pg_ident.conf`,
    // the logging collector writes one file on the data volume (the general guest log), never rotated by the server
    logging_collector: 'on',
    log_destination: 'stderr',
    log_directory: p.logDir,
    log_filename: 'postgresql.log',
    log_rotation_age: 0,
    log_rotation_size: 0,
    // replication (replication.ts): pg_rewind needs the hint bits logged; WAL kept for replicas and rewinds
    wal_log_hints: 'on',
    wal_keep_size: '256MB',
    hot_standby: 'on',
    ...memorySettings(memoryMb),
  };
  const lines = ['# written by the trove-ts guest agent; configuration group overrides are in conf.d/'];
  for (const [k, v] of Object.entries(base)) lines.push(`${k} = ${confValue(v)}`);
  lines.push("include_dir = 'conf.d'", '');
  return lines.join('\n');
}

/** The `name = 'value'` settings of a file written by renderPostgresqlConf or the overrides (include directives left out); numbers as numbers. */
export function parseConf(text: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const m of text.matchAll(/^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*'((?:[^']|'')*)'\s*$/gm)) {
    const [, k, quoted] = m as unknown as [string, string, string];
    if (/^include/.test(k)) continue;
    const v = quoted.replace(/''/g, "'");
    out[k] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}

/** The group role of the replication accounts (NOLOGIN): pg_hba lets its members replicate. */
export const REPLICATION_GROUP = 'trove_replication';

/**
 * `usersBlocked`: users cannot connect (make_read_only during a switchover); the replication
 * accounts (members of REPLICATION_GROUP) still replicate, and read the source's files for pg_rewind.
 */
export function renderHba(o: { usersBlocked?: boolean } = {}): string {
  const users = o.usersBlocked ? 'reject' : 'scram-sha-256';
  return [
    '# written by the trove-ts guest agent',
    '# TYPE  DATABASE  USER  ADDRESS  METHOD',
    `local   all  ${ADMIN_ROLE}  peer map=trove`,
    `local   replication  ${ADMIN_ROLE}  peer map=trove`,
    'local   all  all  reject',
    `host    all  ${ADMIN_ROLE}  0.0.0.0/0  reject`,
    `host    all  ${ADMIN_ROLE}  ::/0  reject`,
    `host    replication  +${REPLICATION_GROUP}  0.0.0.0/0  scram-sha-256`,
    `host    replication  +${REPLICATION_GROUP}  ::/0  scram-sha-256`,
    `host    postgres  +${REPLICATION_GROUP}  0.0.0.0/0  scram-sha-256`,
    `host    postgres  +${REPLICATION_GROUP}  ::/0  scram-sha-256`,
    `host    all  +${REPLICATION_GROUP}  0.0.0.0/0  reject`,
    `host    all  +${REPLICATION_GROUP}  ::/0  reject`,
    `host    all  all  0.0.0.0/0  ${users}`,
    `host    all  all  ::/0  ${users}`,
    '',
  ].join('\n');
}

/** The OS user the agent runs as may log in as the admin role (and nobody else may; `also`: the server's own user, during a pg_upgrade). */
export function renderIdent(agentUser: string, ...also: string[]): string {
  return ['# written by the trove-ts guest agent', ...[agentUser, ...also].map((u) => `trove  ${u}  ${ADMIN_ROLE}`), ''].join('\n');
}

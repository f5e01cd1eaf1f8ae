// [postgresql]: where the data volume is, which address and port the server listens on, and which
// PostgreSQL installation runs it.
import path from 'node:path';
import { z } from 'zod';
import { opt } from '../../../src/common/config/schema.js';
import { runtimeDirFor } from '../../../src/common/runtime-dir.js';

export const postgresqlSection = z.object({
  /** Where the data volume is mounted (Trove's key); the cluster is <mount_point>/data. */
  mount_point: opt.str('/var/lib/postgresql'),
  port: opt.int(5432, 1, 65535),
  bind_host: opt.str('0.0.0.0'),
  /** (trove-ts) The directory of initdb, pg_ctl and postgres; default: the newest /usr/lib/postgresql/<version>/bin. */
  bin_dir: opt.optStr(),
  /**
   * (trove-ts) Other PostgreSQL builds installed side by side, each a directory holding a package's
   * tree (usr/lib/postgresql/<major>/bin, usr/share/postgresql/<major>): majors an instance can be
   * created on or upgraded to (pg_upgrade), found by the version their postgres reports. Comma separated.
   */
  version_dirs: opt.list([]),
  /** (trove-ts) The OS user the server runs as when the agent runs as root (postgres refuses root). */
  run_as: opt.str('postgres'),
  /** (trove-ts) Seconds to wait for the server to accept connections. */
  start_timeout: opt.int(120, 5),
  /** The logs shown to callers who are not administrators (Trove's key and default; the server log is SYS). */
  guest_log_exposed_logs: opt.str('general'),
  /** Milliseconds a statement takes to have its duration logged in the general log (Trove's key). */
  guest_log_long_query_time: opt.int(1000, 0),
  /** (trove-ts) Seconds a new replica (or a member attached to a new source) waits for streaming from its source before its prepare (or attach) fails. */
  replica_attach_timeout: opt.int(60, 1),
});

export type PostgresqlConfig = z.output<typeof postgresqlSection>;

export interface PostgresqlPaths {
  dataDir: string;
  /** The server's own directory under the agent's state dir (kept across reboots): the server log; the server's tools run in it. */
  runDir: string;
  /** The instance's runtime directory (src/common/runtime-dir.ts). */
  runtimeDir: string;
  /** unix_socket_directories: <runtimeDir>/postgresql, the server's, 0700 (a path under the state dir may be too long for the kernel). */
  socketDir: string;
  logFile: string;
  /** Where the server's logging collector writes (the general guest log), on the data volume. */
  logDir: string;
  /** The postmaster's pid, copied where the local compute driver looks for engine pids. */
  pidFile: string;
  overridesFile: string;
  preparedMarker: string;
  /** make_read_only's marker: users cannot connect (pg_hba), kept across restarts and reconfigurations. */
  writesStoppedMarker: string;
  /** The replication account's password for libpq (primary_conninfo's passfile, pg_rewind), 0600, outside the data directory. */
  replicationPassfile: string;
  /** primary_conninfo and the other standby settings, 0600, included from conf.d/. */
  replicationConf: string;
}

export function postgresqlPaths(c: PostgresqlConfig, stateDir: string, runtimeDir = runtimeDirFor(stateDir)): PostgresqlPaths {
  const dataDir = path.join(c.mount_point, 'data');
  const runDir = path.join(stateDir, 'postgresql');
  return {
    dataDir,
    runDir,
    runtimeDir,
    socketDir: path.join(runtimeDir, 'postgresql'),
    logFile: path.join(runDir, 'server.log'),
    logDir: path.join(c.mount_point, 'logs'),
    pidFile: path.join(stateDir, 'postgresql.pid'),
    overridesFile: path.join(dataDir, 'conf.d', 'trove-overrides.conf'),
    preparedMarker: path.join(c.mount_point, '.trove-prepared'),
    writesStoppedMarker: path.join(c.mount_point, '.trove-writes-stopped'),
    replicationPassfile: path.join(c.mount_point, '.trove-replication.pgpass'),
    replicationConf: path.join(dataDir, 'conf.d', 'trove-replication.conf'),
  };
}

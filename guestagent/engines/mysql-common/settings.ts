// Where a MySQL-family engine keeps its files and how it is started, from the engine's config
// section ([mariadb] / [mysql]) and the agent's state directory.
import { z } from 'zod';
import { opt } from '../../../src/common/config/schema.js';
import path from 'node:path';
import { runtimeDirFor } from '../../../src/common/runtime-dir.js';

export const mysqlFamilySection = (defaults: { mysqld: string; installDb: string; initStyle: 'install-db' | 'initialize'; upgrade?: string }) =>
  z.object({
    /** Where the data volume is mounted (Trove's key); the data directory is <mount_point>/data. */
    mount_point: opt.str('/var/lib/mysql'),
    port: opt.int(3306, 1, 65535),
    bind_host: opt.str('0.0.0.0'),
    /** (trove-ts) The server binary and the datadir initialiser. */
    mysqld_bin: opt.str(defaults.mysqld),
    install_db_bin: opt.str(defaults.installDb),
    /** (trove-ts) The engine's own upgrade step after new binaries start on old data ('' = none: the server upgrades itself). */
    upgrade_bin: opt.str(defaults.upgrade ?? ''),
    /**
     * (trove-ts) Other builds of the engine installed side by side, each a directory holding a
     * package's tree (usr/sbin/<server>, usr/bin/..., usr/share/mysql): versions an instance can be
     * created on or upgraded to, found by the version the server reports. Comma separated.
     */
    version_dirs: opt.list([]),
    /** (trove-ts) 'install-db' (mariadb-install-db) or 'initialize' (mysqld --initialize-insecure). */
    init_style: z.enum(['install-db', 'initialize']).default(defaults.initStyle),
    /** (trove-ts) The OS user the server runs as when the agent runs as root. */
    run_as: opt.str('mysql'),
    /** (trove-ts) Seconds to wait for the server to accept connections. */
    start_timeout: opt.int(120, 5),
    /** (trove-ts) Seconds a new replica waits for both replication threads to run before its prepare fails. */
    replica_attach_timeout: opt.int(60, 5),
    /** The logs shown to callers who are not administrators (Trove's key and default; the error log is SYS). */
    guest_log_exposed_logs: opt.str('general,slow_query'),
    /** Milliseconds a statement takes to be written to the slow_query log (Trove's key and default). */
    guest_log_long_query_time: opt.int(1000, 0),
  });

export type MysqlFamilyConfig = z.output<ReturnType<typeof mysqlFamilySection>>;

export interface MysqlPaths {
  dataDir: string;
  /** The agent's state directory (my.cnf, the pid file, logs, secrets): kept across reboots. */
  stateDir: string;
  /** The instance's runtime directory (src/common/runtime-dir.ts): the unix sockets, in <runtimeDir>/mysql. */
  runtimeDir: string;
  socket: string;
  pidFile: string;
  cnf: string;
  errorLog: string;
  /** The server's own tmpdir: a starting server deletes every #sql* file in its tmpdir, so two instances never share one. */
  tmpDir: string;
  adminPasswordFile: string;
  /**
   * The server's secure_file_priv: the only directory SELECT ... INTO OUTFILE/DUMPFILE, LOAD DATA
   * INFILE and LOAD_FILE() reach (<mount_point>/files, not the datadir; the server user's, 0750).
   */
  filesDir: string;
  preparedMarker: string;
}

export function mysqlPaths(c: MysqlFamilyConfig, stateDir: string, runtimeDir = runtimeDirFor(stateDir)): MysqlPaths {
  return {
    dataDir: path.join(c.mount_point, 'data'),
    stateDir,
    runtimeDir,
    socket: path.join(runtimeDir, 'mysql', 'mysqld.sock'),
    pidFile: path.join(stateDir, 'mysqld.pid'),
    cnf: path.join(stateDir, 'my.cnf'),
    errorLog: path.join(stateDir, 'mysqld.err'),
    tmpDir: path.join(stateDir, 'tmp'),
    adminPasswordFile: path.join(stateDir, 'os_admin.secret'),
    filesDir: path.join(c.mount_point, 'files'),
    preparedMarker: path.join(c.mount_point, '.trove-prepared'),
  };
}

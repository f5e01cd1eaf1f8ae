// [redis]: where the data volume is, which address and port the server listens on, which binary runs it.
import path from 'node:path';
import { z } from 'zod';
import { opt } from '../../../src/common/config/schema.js';
import { runtimeDirFor } from '../../../src/common/runtime-dir.js';

export const redisSection = z.object({
  /** Where the data volume is mounted (Trove's key); RDB and AOF files go to <mount_point>/data. */
  mount_point: opt.str('/var/lib/redis'),
  port: opt.int(6379, 1, 65535),
  bind_host: opt.str('0.0.0.0'),
  /** (trove-ts) The server binary. */
  redis_server_bin: opt.str('/usr/bin/redis-server'),
  /**
   * (trove-ts) Other builds of Redis installed side by side, each a directory holding a package's
   * tree (<dir>/usr/bin/redis-server, i.e. redis_server_bin under it): versions an instance can be
   * created on or upgraded to, found by the version the server reports. Comma separated.
   */
  version_dirs: opt.list([]),
  /** (trove-ts) The OS user the server runs as when the agent runs as root. */
  run_as: opt.str('redis'),
  /** (trove-ts) Seconds to wait for the server to accept connections. */
  start_timeout: opt.int(60, 5),
  /** (trove-ts) Seconds an upgrade waits for the server to write its data to disk (AOF rewrite or SAVE) before it stops it. */
  save_timeout: opt.int(600, 5),
  /** (trove-ts) Seconds a replica waits for its link to the source to be up (the first sync loaded) before its attach fails. */
  replica_attach_timeout: opt.int(60, 1),
  /** The logs shown to callers who are not administrators (Trove's key and default: none; the server log is SYS). */
  guest_log_exposed_logs: opt.str(''),
});

export type RedisConfig = z.output<typeof redisSection>;

export interface RedisPaths {
  dataDir: string;
  /** The server's own directory under the agent's state dir (its user's, 0700): config, ACL file. */
  runDir: string;
  /** The instance's runtime directory (src/common/runtime-dir.ts): the socket, in <runtimeDir>/redis (a path under the state dir may be too long for the kernel). */
  runtimeDir: string;
  conf: string;
  aclFile: string;
  overridesFile: string;
  /** Where the replica's source is (replicaof, masteruser, masterauth), included last by redis.conf; empty on a source. */
  replicationFile: string;
  /** Present while make_read_only(true) holds: users' writes stay stopped after a restart of the server. */
  writesStoppedMarker: string;
  socket: string;
  /** The server's pid, written by the agent (where the local compute driver looks for engine pids). */
  pidFile: string;
  logFile: string;
  adminPasswordFile: string;
  preparedMarker: string;
  /** The version directory of the build the server runs (absent: the configured redis_server_bin). */
  buildFile: string;
}

export function redisPaths(c: RedisConfig, stateDir: string, runtimeDir = runtimeDirFor(stateDir)): RedisPaths {
  const runDir = path.join(stateDir, 'redis');
  return {
    dataDir: path.join(c.mount_point, 'data'),
    runDir,
    runtimeDir,
    conf: path.join(runDir, 'redis.conf'),
    aclFile: path.join(runDir, 'users.acl'),
    overridesFile: path.join(runDir, 'redis-overrides.conf'),
    replicationFile: path.join(runDir, 'replication.conf'),
    writesStoppedMarker: path.join(stateDir, 'redis-writes-stopped'),
    socket: path.join(runtimeDir, 'redis', 'redis.sock'),
    pidFile: path.join(stateDir, 'redis.pid'),
    logFile: path.join(stateDir, 'redis.log'),
    adminPasswordFile: path.join(stateDir, 'os_admin.secret'),
    preparedMarker: path.join(c.mount_point, '.trove-prepared'),
    buildFile: path.join(stateDir, 'redis-build'),
  };
}

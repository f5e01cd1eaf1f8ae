// guestagent.<instance id>: what the taskmanager and the API ask of a guest (Trove's
// guestagent/api.py). Databases and users travel as Trove's underscore-keyed wire objects.
// Unlike Trove, the database and user verbs are calls: the API answers 202 only once the engine
// has done the work, so a refused name or a failed grant is the caller's 4xx, not a lost cast.
import { z } from 'zod';
import { defineContract } from '../contract.js';
import { backupInfo, backupStorage, jsonObject, nothing, restoreInfo, wireDatabase, wireUser } from './common.js';

export { guestTopic } from '../topics.js';

const fsStats = z.object({
  block_size: z.number(),
  total_blocks: z.number(),
  free_blocks: z.number(),
  total: z.number(),
  free: z.number(),
  used: z.number(),
});

const page = z.object({
  limit: z.number().int().positive().nullish(),
  marker: z.string().nullish(),
  include_marker: z.boolean().default(false),
});

/** A user named on the wire as (username, hostname); a null host is Trove's '%'. */
const userRef = { username: z.string(), hostname: z.string().nullish() };

const volume = z.object({ device_path: z.string().nullish(), mount_point: z.string().nullish() });

/** One guest log as guest_log_list shows it (Trove's GuestLog.show()). */
const guestLog = z.object({
  name: z.string(),
  type: z.enum(['USER', 'SYS']),
  status: z.string(),
  published: z.number(),
  pending: z.number(),
  container: z.string().nullish(),
  prefix: z.string().nullish(),
  metafile: z.string().nullish(),
});

/** Trove passes the request's values through: 1, true, or None. */
const logFlag = z
  .union([z.boolean(), z.number()])
  .nullish()
  .transform((v) => Boolean(v));

/** Where a replica reaches its source's engine, and the replication account it logs in with. */
export const replicationSource = z.object({
  host: z.string(),
  port: z.number().int().positive(),
  user: z.string(),
  password: z.string(),
});
export type ReplicationSource = z.output<typeof replicationSource>;

/** What a source's guest says about itself to a new replica (get_replication_snapshot's result). */
export const replicationSnapshot = z.object({
  /** the engine's port; the taskmanager adds the host it knows from the compute service */
  port: z.number().int().positive(),
  /** the account made for this replica on the source */
  replication_user: z.object({ name: z.string(), password: z.string() }),
});

const call = <A extends z.ZodType, R extends z.ZodType>(args: A, result: R, since = '1.0') => ({ kind: 'call' as const, since, args, result });
const cast = <A extends z.ZodType>(args: A, since = '1.0') => ({ kind: 'cast' as const, since, args, result: nothing });
const none = z.object({});

export const guestContract = defineContract({
  // --- lifecycle
  prepare: cast(
    z.object({
      memory_mb: z.number().int().positive(),
      packages: z.array(z.string()).default([]),
      databases: z.array(wireDatabase).default([]),
      users: z.array(wireUser).default([]),
      device_path: z.string().nullish(),
      mount_point: z.string().nullish(),
      backup_info: restoreInfo.nullish(),
      /** trove-ts: when backup_info is an incremental backup, its whole chain: the full backup first, then each incremental in order, backup_info last */
      backup_chain: z.array(restoreInfo).nullish(),
      /** trove-ts: after restoring backup_info, replay the source instance's archived transaction logs up to this time (ISO 8601) */
      restore_to: z.object({ time: z.string(), source_instance_id: z.string() }).nullish(),
      /** trove-ts: where backup_info's location is stored and with whose rights */
      storage: backupStorage.nullish(),
      config_contents: z.string().nullish(),
      root_password: z.string().nullish(),
      overrides: jsonObject.nullish(),
      cluster_config: jsonObject.nullish(),
      /**
       * A replica's prepare (trove-ts shape): backup_info is the source's snapshot (a full backup);
       * after restoring it the guest starts replicating from `master` at the backup's position and
       * keeps the engine read-only for users.
       */
      snapshot: z.object({ master: replicationSource }).passthrough().nullish(),
      modules: z.array(jsonObject).nullish(),
      ds_version: z.string().nullish(),
    }),
    '1.1',
  ),
  restart: call(none, nothing),
  stop_db: call(z.object({ do_not_start_on_reboot: z.boolean().optional() }), nothing, '1.1'),
  start_db_with_conf_changes: call(
    z.object({
      config_contents: z.string().nullish(),
      ds_version: z.string().nullish(),
      /** trove-ts: the new flavor's RAM, for an engine that renders its own configuration */
      memory_mb: z.number().int().positive().optional(),
    }),
    nothing,
    '1.1',
  ),
  rpc_ping: call(none, z.boolean()),
  /**
   * Trove's upgrade(upgrade_info): stop the engine, switch to the binaries of upgrade_info's version,
   * run the engine's own upgrade step, start, check health and version. A failure puts the old
   * binaries and data back (the engine running as before) and is raised with the engine's message.
   */
  upgrade: call(
    z.object({ upgrade_info: z.object({ datastore_version: z.string(), datastore_version_name: z.string().nullish() }).passthrough() }),
    z.object({ version: z.string() }),
    '1.2',
  ),

  // --- volume
  get_filesystem_stats: call(z.object({ fs_path: z.string().nullish() }), fsStats),
  resize_fs: call(volume.extend({ online: z.boolean().optional() }), nothing, '1.1'),
  mount_volume: call(volume, nothing),
  unmount_volume: call(volume, nothing),

  // --- databases
  create_database: call(z.object({ databases: z.array(wireDatabase) }), nothing),
  list_databases: call(page, z.tuple([z.array(wireDatabase), z.string().nullable()])),
  delete_database: call(z.object({ database: wireDatabase }), nothing),

  // --- users and access
  create_user: call(z.object({ users: z.array(wireUser) }), nothing),
  list_users: call(page, z.tuple([z.array(wireUser), z.string().nullable()])),
  get_user: call(z.object(userRef), wireUser.nullable()),
  delete_user: call(z.object({ user: wireUser }), nothing),
  change_passwords: call(z.object({ users: z.array(z.object({ name: z.string(), host: z.string().nullish(), password: z.string() })) }), nothing),
  update_attributes: call(
    z.object({
      ...userRef,
      user_attrs: z.object({ name: z.string().nullish(), host: z.string().nullish(), password: z.string().nullish() }),
    }),
    nothing,
  ),
  grant_access: call(z.object({ ...userRef, databases: z.array(z.string()) }), nothing),
  revoke_access: call(z.object({ ...userRef, database: z.string() }), nothing),
  list_access: call(z.object(userRef), z.array(wireDatabase)),

  // --- root
  enable_root: call(none, wireUser),
  enable_root_with_password: call(z.object({ root_password: z.string().nullish() }), wireUser),
  disable_root: call(none, nothing),
  is_root_enabled: call(none, z.boolean()),

  // --- configuration
  update_overrides: call(z.object({ overrides: jsonObject, remove: z.boolean().default(false) }), nothing),
  apply_overrides: call(z.object({ overrides: jsonObject }), nothing),
  reset_configuration: call(z.object({ configuration: z.object({ config_contents: z.string() }) }), nothing),
  /** trove-ts: the engine's effective key settings (its rendered configuration + the group's overrides), for `configuration default` */
  get_configuration: call(none, z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),

  // --- replication (trove-ts: the snapshot itself is a backup taken by the taskmanager's backup flow)
  /** On a source: ready to be replicated from (binary log on, a replication account for replica_id) */
  get_replication_snapshot: call(
    z.object({ snapshot_info: z.object({ replica_id: z.string() }).passthrough(), replica_source_config: jsonObject.nullish() }),
    replicationSnapshot,
  ),
  /** On a replica: stops replicating and forgets its source; writable again */
  detach_replica: call(z.object({ for_failover: z.boolean().default(false) }), nothing),
  // switchover (promote_to_replica_source) and failover (eject_replica_source), Trove's verbs:
  /** On any member: stops (true) or allows (false) users' writes; the old source first, before a switchover */
  make_read_only: call(z.object({ read_only: z.boolean() }), nothing),
  /** On any member: the newest transaction it has (MariaDB: its gtid_current_pos), to compare members and to wait for */
  get_last_txn: call(none, z.object({ txn: z.string() })),
  /** On a replica: waits until it has applied txn (a get_last_txn answer of its source); fails after timeout seconds */
  wait_for_txn: call(z.object({ txn: z.string(), timeout: z.number().int().positive().default(60) }), nothing),
  /** On a replica chosen to become the source: stops replicating (as detach_replica) and takes writes, ready to be replicated from */
  enable_as_master: call(z.object({ replica_source_config: jsonObject.nullish() }), nothing),
  /** On a former source or a replica of another source: replicates from `master` from the position it has (no restore), read-only for users */
  attach_replica: call(
    z.object({ replica_info: z.object({ master: replicationSource }), slave_config: jsonObject.nullish(), restart: z.boolean().default(false) }),
    nothing,
  ),
  /** On a source: removes the replication account of a replica that was detached or deleted; gone already is fine */
  cleanup_source_on_replica_detach: call(z.object({ replica_info: z.object({ replica_id: z.string() }).passthrough() }), nothing),

  // --- backups and logs
  create_backup: cast(z.object({ backup_info: backupInfo, storage: backupStorage.optional() })),
  guest_log_list: call(none, z.array(guestLog)),
  /** trove-ts adds `storage`: the store publish and discard use, with the caller's rights (as create_backup) */
  guest_log_action: call(
    z.object({ log_name: z.string(), enable: logFlag, disable: logFlag, publish: logFlag, discard: logFlag, storage: backupStorage.nullish() }),
    guestLog,
  ),

  // --- the agent itself
  /** trove-ts: installs the agent package at `location` (sha256 `checksum` when given) and restarts the agent on it; the engine keeps running */
  upgrade_agent: call(z.object({ location: z.string().min(1), checksum: z.string().nullish() }), z.object({ version: z.string() }), '1.2'),
});

export type GuestContract = typeof guestContract;

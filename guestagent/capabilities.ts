// What an engine can do, as separate capabilities: the guest's verb dispatch asks the engine for
// a capability and answers NotSupportedError (Trove's 501) when it lacks it.

export interface DatabaseSpec {
  name: string;
  characterSet?: string | undefined;
  collate?: string | undefined;
}

export interface UserSpec {
  name: string;
  host: string;
  password?: string | undefined;
  databases: string[];
}

export interface PrepareSpec {
  memoryMb: number;
  packages: string[];
  databases: DatabaseSpec[];
  users: UserSpec[];
  rootPassword?: string | undefined;
  overrides: Record<string, unknown>;
  configContents?: string | undefined;
  /** The datastore version's name (or full version): the build to run where several are installed. */
  dsVersion?: string | undefined;
}

export interface FsStats {
  block_size: number;
  total_blocks: number;
  free_blocks: number;
  total: number;
  free: number;
  used: number;
}

/** The service status descriptions the conductor understands. */
export type HealthStatus = 'healthy' | 'running' | 'shutdown' | 'crashed' | 'blocked' | 'failed to spawn' | 'building';

export interface Lifecycle {
  prepare(spec: PrepareSpec): Promise<void>;
  /** Starts the engine again after a reboot of the agent (the data is there already). */
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Rewrites the engine's config for a new memory size and restarts. */
  reconfigure(memoryMb: number): Promise<void>;
  health(): Promise<HealthStatus>;
  filesystemStats(): Promise<FsStats>;
  /** Whether prepare has completed on this data directory. */
  prepared(): Promise<boolean>;
  /** Refuses (true) or allows (false) users' writes, as a full volume would. */
  setReadOnly(readOnly: boolean): Promise<void>;
}

export interface Page<T> {
  items: T[];
  nextMarker: string | null;
}

export interface Databases {
  createDatabases(dbs: DatabaseSpec[]): Promise<void>;
  listDatabases(limit?: number, marker?: string, includeMarker?: boolean): Promise<Page<DatabaseSpec>>;
  deleteDatabase(name: string): Promise<void>;
}

export interface Users {
  createUsers(users: UserSpec[]): Promise<void>;
  listUsers(limit?: number, marker?: string, includeMarker?: boolean): Promise<Page<UserSpec>>;
  getUser(name: string, host: string): Promise<UserSpec | null>;
  deleteUser(name: string, host: string): Promise<void>;
  changePasswords(users: Array<{ name: string; host: string; password: string }>): Promise<void>;
  grantAccess(name: string, host: string, databases: string[]): Promise<void>;
  revokeAccess(name: string, host: string, database: string): Promise<void>;
  listAccess(name: string, host: string): Promise<DatabaseSpec[]>;
  /** Gives a user another name and/or host, keeping its password and grants. */
  renameUser?(name: string, host: string, newName: string, newHost: string): Promise<void>;
}

export interface Root {
  enableRoot(password?: string): Promise<{ name: string; password: string }>;
  disableRoot(): Promise<void>;
  isRootEnabled(): Promise<boolean>;
}

/** A configuration group's values on the engine (Trove's update_overrides / apply_overrides). */
export interface Configuration {
  /** Writes the overrides into the engine's configuration so they hold across restarts; remove drops them all. */
  updateOverrides(overrides: Record<string, unknown>, remove: boolean): Promise<void>;
  /** Sets values on the running engine without a restart (only the dynamic parameters are passed). */
  applyOverrides(overrides: Record<string, unknown>): Promise<void>;
  /** The engine's effective key settings: what its configuration file sets (memory included) with the group's overrides on top. */
  effectiveSettings(): Promise<Record<string, string | number | boolean>>;
}

/**
 * Moving the engine in place onto another version's binaries (Trove's upgrade): stop, switch, the
 * engine's own upgrade step, start, check health and version. Any failure puts the old binaries and
 * data back, starts the engine as it was and raises the engine's own message.
 */
export interface Upgrade {
  /** `version`: the target's full version (e.g. 10.11.19); answers the version the engine now reports. */
  upgrade(version: string): Promise<{ version: string }>;
}

/** What the engine counts, read at each report: the reporter turns `queries` into a rate and adds the volume. */
export interface MetricsSample {
  connections: number;
  maxConnections: number;
  /** statements, transactions or commands since the engine started (a counter) */
  queries: number;
  uptimeSeconds: number;
  /** a replica's lag behind its source; null when the engine is no replica */
  replicationLagSeconds: number | null;
  replicationLagBytes: number | null;
  /** the engine's own first-look figures, by name (lower case and underscores) */
  figures: Record<string, number>;
}

/** The engine's figures for the heartbeat (src/common/engine-metrics.ts). */
export interface Metrics {
  sample(): Promise<MetricsSample>;
}

export interface Engine {
  readonly name: string;
  lifecycle: Lifecycle;
  upgrade?: Upgrade;
  metrics?: Metrics;
  databases?: Databases;
  users?: Users;
  root?: Root;
  configuration?: Configuration;
  backup?: Backup;
  replication?: Replication;
  logs?: Logs;
}

/** The guest's answer for a verb whose capability the engine lacks (rendered as Trove's 501). */
export class NotSupportedError extends Error {
  override name = 'NotSupportedError';
}

/** A name, password or host the engine refuses (rendered as 400). */
export class InvalidValueError extends Error {
  override name = 'InvalidValueError';
}

/** A backup tool's output (guestagent/backup/run-backup.ts streams it to storage). */
export interface BackupStreamSource {
  /** Ends only if the tool succeeded, errors otherwise; destroying it stops the tool. */
  stream: import('node:stream').Readable;
  /** Recorded with the backup and handed back to restoreStream/installRestored: e.g. 'xbstream', 'sql'. */
  format: string;
  /** Read once the stream has ended: recorded with the stored object (e.g. the position an incremental backup continues from). */
  metadata?: () => Record<string, string>;
}

/** The engine's restore tool, fed by guestagent/backup/run-restore.ts. */
export interface RestoreStreamSink {
  stream: import('node:stream').Writable;
  /** Resolves when the tool finished successfully. */
  done: Promise<void>;
}

/**
 * Backups of the engine's data (Trove's create_backup, and prepare with backup_info). The engine
 * only produces and consumes streams; compression, encryption, checksums and storage are the
 * pipeline's. A restore runs: stagingDir → restoreStream (tool writes into the staging dir) →
 * the pipeline verifies the checksum → [for each incremental: restoreStream into its own staging
 * dir, verified, applyIncremental] → installRestored (the data becomes the engine's).
 */
export interface Backup {
  /** Starts a full backup of the running engine. */
  backupStream(): Promise<BackupStreamSource>;
  /**
   * Starts a backup of what changed since the parent backup, given the parent's stored metadata
   * (what its source's `metadata()` recorded). Absent, or NotSupportedError: no incremental backups.
   */
  incrementalStream?(parentMetadata: Record<string, string>): Promise<BackupStreamSource>;
  /**
   * Applies an incremental backup, staged by restoreStream in incrementalDir and verified, onto the
   * base staged in stagingDir (a restore of a chain: the full backup, then each incremental in order).
   */
  applyIncremental?(format: string, stagingDir: string, incrementalDir: string): Promise<void>;
  /** Point in time: closes the engine's current transaction log; the closed log files, oldest first. */
  closedLogs?(): Promise<ClosedLog[]>;
  /** Point in time: where the data just installed by a restore stops in its source's logs. */
  restoredLogPosition?(): Promise<LogPosition>;
  /** Point in time: replays log files (local paths, in order; the first from `from`) into the running engine, stopping before `stopAt`. */
  replayLogs?(files: string[], from: LogPosition, stopAt: Date): Promise<void>;
  /** A fresh staging directory path for a restore, on the data volume (so installing is a rename). */
  stagingDir(backupId: string): string;
  /** Opens the restore tool writing a backup of `format` into stagingDir. */
  restoreStream(format: string, stagingDir: string): Promise<RestoreStreamSink>;
  /** Makes the verified data in stagingDir the engine's (the engine is usable with its own credentials afterwards). */
  installRestored(format: string, stagingDir: string): Promise<void>;
}

/** A closed transaction log file of the engine (archived for point-in-time restores). */
export interface ClosedLog {
  name: string;
  path: string;
  firstEvent: Date;
  lastEvent: Date;
}

/** A position in an engine's transaction logs. */
export interface LogPosition {
  file: string;
  position: number;
}

/** One log an engine writes (Trove's guest log definitions): SYS logs are always on, USER logs can be enabled and disabled. */
export interface LogDefinition {
  name: string;
  type: 'USER' | 'SYS';
  /** The file the engine writes it to (read and published by the agent). */
  file: string;
  /** Shown to callers who are not administrators (Trove's guest_log_exposed_logs). */
  exposed: boolean;
}

/** Whether a USER log is on: 'restart-required' when its settings are written but the running engine does not write it yet. */
export type LogState = 'enabled' | 'disabled' | 'restart-required';

/** The engine's logs (Trove's guest_log_list / guest_log_action); reading and publishing the files is the agent's. */
export interface Logs {
  definitions(): LogDefinition[];
  /** A USER log's state on the running engine and in its persisted configuration. */
  state(name: string): Promise<LogState>;
  /** Turns a USER log on or off on the running engine and in the configuration it restarts with. */
  setEnabled(name: string, enabled: boolean): Promise<LogState>;
}

/** Where a replica reaches its source's engine, and the account it replicates with. */
export interface ReplicationMaster {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * Replication from a source to replicas (Trove's replication strategy). The snapshot a replica
 * starts from is a full backup of the source taken by the ordinary backup flow; the engine only
 * manages the accounts, attaches a restored copy to its source and detaches it again.
 */
export interface Replication {
  /** On a source: a replication account for the replica (made, or made again with a new password); where to reach the engine. */
  prepareSource(replicaId: string): Promise<{ port: number; user: { name: string; password: string } }>;
  /** On a source: drops the replica's account; gone already is fine. */
  removeReplica(replicaId: string): Promise<void>;
  /**
   * On a replica, after its source's backup was restored and the engine started: read-only for
   * users (and after restarts), replicating from `master` at the backup's position; resolves once
   * replication runs, throws if it does not within the engine's timeout.
   */
  attach(master: ReplicationMaster): Promise<void>;
  /**
   * On a replica: stops replicating, forgets the source, writable again; a no-op on a server that
   * replicates from nothing. `forFailover`: enable_as_master or attach_replica comes next (a switchover
   * or failover), an engine whose detaching would fork its own history (PostgreSQL's promotion) may
   * leave the work to those.
   */
  detach(forFailover?: boolean): Promise<void>;
  /** Whether the engine is a replica now (its users' writes are refused). */
  isReplica(): Promise<boolean>;
  /**
   * Root is each member's own (the engine does not replicate its accounts, e.g. Redis's ACL): root
   * can be enabled and disabled on a replica too. Unset: root comes from the source, refused on a replica.
   */
  readonly localRoot?: boolean;

  // switchover and failover (promote_to_replica_source, eject_replica_source)
  /** Stops (true) or allows again (false) users' writes, now and after restarts; a replica stays read-only either way. */
  makeReadOnly(readOnly: boolean): Promise<void>;
  /** Whether users' writes were stopped with makeReadOnly (the agent's user, database and root verbs are refused too). */
  isReadOnly(): Promise<boolean>;
  /** The newest transaction the engine has, in a form members of one replication set can compare (the engine documents it). */
  lastTxn(): Promise<string>;
  /** On a replica: resolves once it has applied `txn` (a lastTxn of its source); throws after `timeoutS` seconds saying where it is. */
  waitForTxn(txn: string, timeoutS: number): Promise<void>;
  /** Replicates from nothing and takes writes (read-only off, in the engine's config too): ready to be replicated from. */
  enableAsSource(): Promise<void>;
  /**
   * On a former source, or a replica of another source: replicates from `master` from the
   * position the engine has (no restore), read-only for users; resolves once replication runs,
   * throws if it does not within the engine's timeout.
   */
  follow(master: ReplicationMaster): Promise<void>;
}

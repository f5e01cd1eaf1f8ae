// The guest's verb dispatch: each verb of the guest contract to the engine's capability; a verb
// whose capability the engine lacks answers NotSupportedError (Trove's 501).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { scrubSecrets, type Logger } from '../src/common/log.js';
import { EngineFailure } from './platform/error-tail.js';
import type { Handlers, Stub } from '../src/rpc/contract.js';
import type { GuestContract } from '../src/rpc/contracts/guest.js';
import type { ConductorContract } from '../src/rpc/contracts/conductor.js';
import { NotSupportedError, type Engine, type FsStats, type HealthStatus } from './capabilities.js';
import { adminHandlers, toDb, toUser } from './admin-handlers.js';
import { createAfterRestore } from './restore-extras.js';
import { backupHandlers, restoreInto, restoreToTime } from './backup-handlers.js';
import type { BackupConfig } from './backup/config.js';
import type { VolumeQuota } from './platform/volume-quota.js';
import type { AgentVersion } from './agent-version.js';
import { upgradeHandlers, type UpgradeHandlerOptions } from './upgrade-handlers.js';
import { logHandlers, type LogHandlerOptions } from './log-handlers.js';
import { MetricsReport } from './metrics-report.js';
import { attachReplica, refuseWritesOnReplica, replicationCapability, replicationHandlers } from './replication-handlers.js';

export interface GuestManagerOptions {
  instanceId: string;
  engine: Engine;
  conductor: Stub<ConductorContract>;
  log: Logger;
  /** A sized data directory (all-in-one volume): measured and enforced at every report. */
  quota?: VolumeQuota | undefined;
  /** Where backups go and how they are sealed ([DEFAULT] backup_* keys). */
  backupConfig: BackupConfig;
  /** Guest logs: [DEFAULT] guest_log_* keys and where what was published is remembered. */
  guestLogs?: LogHandlerOptions['guestLogs'];
  /**
   * Where a failed prepare is remembered (a file in the agent's state directory): such an instance
   * reports 'failed to spawn' for good, even though its fresh engine was prepared, and is not
   * started again after a reboot of the agent. Without it the failure is remembered in memory only.
   */
  prepareFailedFile?: string | undefined;
  /** Where the running backups are kept (see BackupHandlerOptions.runningFile). */
  runningBackupsFile?: string | undefined;
  /** What the agent reports of itself in each heartbeat (an older agent reported nothing). */
  agent?: AgentVersion | undefined;
  /** upgrade_agent: where the agent's code is installed ('' = not upgraded by RPC) and how it restarts. */
  upgrade?: Omit<UpgradeHandlerOptions, 'log'> | undefined;
}

/** Why a prepare failed: the reason (the engine's own words) and the log lines behind it. */
export interface PrepareFailure {
  reason: string;
  logTail: string;
}

export function parseFailure(text: string): PrepareFailure {
  try {
    const j = JSON.parse(text) as { reason?: unknown; log_tail?: unknown };
    if (j && typeof j.reason === 'string') return { reason: j.reason || 'prepare failed', logTail: typeof j.log_tail === 'string' ? j.log_tail : '' };
  } catch {
    // an older agent wrote the reason alone
  }
  return { reason: text || 'prepare failed', logTail: '' };
}

/** Sends the engine's status (and volume usage) to the conductor. */
export class StatusReporter {
  private preparing = false;
  private readOnly = false;
  private failedInMemory: PrepareFailure | undefined;
  private readonly metrics: MetricsReport;

  constructor(private readonly o: GuestManagerOptions) {
    this.metrics = new MetricsReport(o.engine.metrics);
  }

  setPreparing(v: boolean): void {
    this.preparing = v;
  }

  /** Why the prepare failed, if it did: the instance stays failed (a fresh engine with no data is never reported healthy). */
  prepareFailure(): string | undefined {
    return this.failure()?.reason;
  }

  /** The failed prepare's reason and the log tail behind it (the file holds JSON; an older agent's plain text is the reason). */
  failure(): PrepareFailure | undefined {
    const f = this.o.prepareFailedFile;
    if (f && existsSync(f)) return parseFailure(readFileSync(f, 'utf8'));
    return this.failedInMemory;
  }

  setPrepareFailed(why: string, logTail = ''): void {
    this.failedInMemory = { reason: scrubSecrets(why), logTail: scrubSecrets(logTail, 8000) };
    const f = this.o.prepareFailedFile;
    if (f) writeFileSync(f, JSON.stringify({ reason: this.failedInMemory.reason, log_tail: this.failedInMemory.logTail }), { mode: 0o600 });
  }

  async report(status?: HealthStatus): Promise<void> {
    const { instanceId, engine, conductor } = this.o;
    let s = status;
    if (!s) {
      if (this.prepareFailure() !== undefined) s = 'failed to spawn';
      else if (this.preparing) s = 'building';
      else if (!(await engine.lifecycle.prepared()))
        return; // nothing to say before prepare
      else s = await engine.lifecycle.health().catch((): HealthStatus => 'crashed');
    }
    const sent = Date.now() / 1000;
    const failed = s === 'failed to spawn' ? this.failure() : undefined;
    const agent = this.o.agent ? { agent_version: this.o.agent.version, agent_rpc_version: this.o.agent.rpcVersion } : {};
    const payload: Record<string, unknown> = failed
      ? { service_status: s, failure_reason: failed.reason, failure_log_tail: failed.logTail, ...agent }
      : { service_status: s, ...agent };
    // a healthy engine's volume and figures go with its heartbeat
    const fs: (FsStats & { full?: boolean }) | undefined =
      s !== 'healthy' ? undefined : await (this.o.quota ? this.o.quota.stats() : engine.lifecycle.filesystemStats()).catch(() => undefined);
    if (s === 'healthy') {
      const metrics = await this.metrics.build(fs);
      if (metrics) payload.metrics = metrics;
    }
    await conductor.heartbeat({ instance_id: instanceId, payload, sent });
    if (s === 'healthy') {
      if (fs) await conductor.report_usage({ instance_id: instanceId, used_gb: fs.used, total_gb: fs.total, sent });
      if (fs?.full !== undefined && fs.full !== this.readOnly) {
        // a full volume refuses writes; room again (a resize) allows them
        await engine.lifecycle.setReadOnly(fs.full);
        this.readOnly = fs.full;
        this.o.log.warn(
          { used_gb: fs.used, total_gb: fs.total, read_only: fs.full },
          fs.full ? 'the data volume is full: writes refused' : 'the data volume has room again: writes allowed',
        );
      }
    }
  }
}

/** The log lines behind a failure: the engine's (an EngineFailure's, its cause's) and the agent's own line for it. */
function failureLogTail(err: Error): string {
  const lines: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof EngineFailure && e.logTail) lines.push(e.logTail.trimEnd());
  lines.push(`trove-guestagent: prepare failed: ${err.message}`);
  return lines.join('\n');
}

/** Verbs this agent has no implementation of yet answer as a missing capability does. */
function unsupported(what: string): never {
  throw new NotSupportedError(`${what}: not supported by this guest agent yet.`);
}

export function guestHandlers(o: GuestManagerOptions, reporter: StatusReporter): Handlers<GuestContract> {
  const { engine, log } = o;
  const lc = engine.lifecycle;
  const backupOptions = { instanceId: o.instanceId, engine, conductor: o.conductor, log, config: o.backupConfig, runningFile: o.runningBackupsFile };
  const configuration = () => {
    if (!engine.configuration) throw new NotSupportedError(`Configuration groups are not supported for the '${engine.name}' datastore.`);
    return engine.configuration;
  };
  return {
    prepare: async (a) => {
      const failed = reporter.prepareFailure();
      if (failed !== undefined) throw new Error(`an earlier prepare of this instance failed (${failed}); it cannot be prepared again`);
      if (await lc.prepared()) {
        log.info('prepare: already prepared, starting the engine');
        await lc.start();
        await reporter.report();
        return;
      }
      reporter.setPreparing(true);
      await reporter.report('building').catch(() => undefined);
      try {
        // a restore the engine cannot do fails before anything starts: never an empty instance
        if (a.backup_info && !engine.backup) throw new NotSupportedError(`Backups are not supported for the '${engine.name}' datastore.`);
        if (a.snapshot?.master) {
          replicationCapability(engine);
          if (!a.backup_info) throw new Error("a replica is prepared from its source's backup, and the call carried none (backup_info)");
        }
        // restored: the backup's data replaces the fresh engine's, so the call's databases and
        // users are made on it afterwards
        const restoring = Boolean(a.backup_info);
        await lc.prepare({
          memoryMb: a.memory_mb,
          packages: a.packages,
          databases: restoring ? [] : a.databases.map(toDb),
          users: restoring ? [] : a.users.map(toUser),
          rootPassword: a.root_password ?? undefined,
          overrides: (a.overrides ?? {}) as Record<string, unknown>,
          configContents: a.config_contents ?? undefined,
          dsVersion: a.ds_version ?? undefined,
        });
        // the backup's data replaces the fresh engine's before the instance is anyone's
        if (a.backup_info) await restoreInto(backupOptions, a.backup_info, a.storage, a.backup_chain);
        if (a.backup_info && a.restore_to) {
          if (!(await lc.health().then((h) => h === 'healthy' || h === 'running'))) await lc.start();
          await restoreToTime(backupOptions, a.restore_to, a.backup_info, a.storage);
        }
        if (!(await lc.health().then((h) => h === 'healthy' || h === 'running'))) await lc.start();
        if (restoring && !a.snapshot?.master) await createAfterRestore(engine, a.databases.map(toDb), a.users.map(toUser), log);
        // a replica: replicating from its source at the backup's position, read-only for users
        if (a.snapshot?.master) await attachReplica(engine, a.snapshot.master, log);
        reporter.setPreparing(false);
        await reporter.report();
      } catch (err) {
        // the engine prepared before a failed restore holds no data of the user's: never serve it
        reporter.setPrepareFailed((err as Error).message, failureLogTail(err as Error));
        reporter.setPreparing(false);
        log.error({ err: (err as Error).message }, 'prepare failed');
        await lc.stop().catch(() => undefined);
        await reporter.report('failed to spawn').catch(() => undefined);
        throw err;
      }
    },
    restart: async () => {
      await lc.restart();
      await reporter.report();
      return null;
    },
    stop_db: async () => {
      await lc.stop();
      await reporter.report();
      return null;
    },
    start_db_with_conf_changes: async (a) => {
      if (a.memory_mb) await lc.reconfigure(a.memory_mb);
      else await lc.start();
      await reporter.report();
      return null;
    },
    get_filesystem_stats: async () => {
      if (!o.quota) return lc.filesystemStats();
      const { full: _full, ...fs } = await o.quota.stats();
      return fs;
    },
    resize_fs: async () => {
      // A plain data directory grows with its filesystem (a sized one rereads its size at the
      // report); a block device would be resized here.
      await reporter.report();
      return null;
    },
    rpc_ping: async () => true,
    upgrade: async (a) => {
      if (!engine.upgrade) throw new NotSupportedError(`Upgrades are not supported for the '${engine.name}' datastore.`);
      try {
        const done = await engine.upgrade.upgrade(a.upgrade_info.datastore_version);
        log.info({ version: done.version }, 'engine upgraded');
        return done;
      } finally {
        // the engine runs again (upgraded or as before): the control plane sees it at once
        await reporter.report().catch(() => undefined);
      }
    },
    mount_volume: async () => unsupported('Mounting volumes'),
    unmount_volume: async () => unsupported('Unmounting volumes'),
    update_overrides: async (a) => {
      await configuration().updateOverrides(a.overrides, a.remove);
      log.info({ keys: Object.keys(a.overrides), remove: a.remove }, 'configuration overrides written');
      return null;
    },
    apply_overrides: async (a) => {
      await configuration().applyOverrides(a.overrides);
      log.info({ keys: Object.keys(a.overrides) }, 'configuration overrides applied');
      return null;
    },
    get_configuration: async () => configuration().effectiveSettings(),
    reset_configuration: async () => {
      // The engines render their base configuration themselves (from the flavor's memory); Trove's
      // template contents have nothing to replace. Only the capability is checked.
      configuration();
      return null;
    },
    ...backupHandlers(backupOptions),
    ...logHandlers({ instanceId: o.instanceId, engine, log, backupConfig: o.backupConfig, guestLogs: o.guestLogs }),
    ...replicationHandlers(engine, log),
    ...upgradeHandlers({ log, installDir: '', restart: () => undefined, ...o.upgrade }),
    ...refuseWritesOnReplica(engine, adminHandlers(engine)),
  };
}

// Builds a running taskmanager from its configuration and its drivers: bus, flows; resumes
// unfinished flows at start. Used by the trove-taskmanager process, the all-in-one and tests.
import { hostname } from 'node:os';
import type { RawConfig } from '../common/config/reader.js';
import { configSection } from '../common/config/schema.js';
import type { Logger } from '../common/log.js';
import { SecretBox } from '../common/secret-box.js';
import { databaseSection } from '../db/config.js';
import { databaseUnavailable, openDatabase, type Db } from '../db/connection.js';
import { transportFromConfig, messagingDefaults } from '../rpc/config.js';
import { secureRpc } from '../rpc/secure.js';
import { RpcClient, RpcServer } from '../rpc/rpc.js';
import { TASKMANAGER_TOPIC, taskmanagerContract } from '../rpc/contracts/taskmanager.js';
import type { Transport } from '../rpc/transport.js';
import type { FlowDrivers } from '../clients/drivers.js';
import { taskmanagerDefaults } from './config.js';
import type { TaskContext } from './context.js';
import { FlowRunner } from './flow.js';
import { registerFlows, taskmanagerHandlers } from './manager.js';
import { startSweeper } from './server-sync.js';
import { startBackupScheduler } from './backup-scheduler.js';
import { databaseCheck } from '../db/health.js';
import type { HealthCheck } from '../common/metrics/health.js';
import { upgradeLevelsSection } from '../rpc/upgrade-levels.js';
import { notifierFromConfig } from '../notifications/notifier.js';
import { startExistsEvents } from './usage-events.js';
import { startStorageAutoscaler } from './storage-autoscaler.js';
import { startMaintenanceUpgrader } from './maintenance-upgrader.js';

export interface Taskmanager {
  ctx: TaskContext;
  /** What its health check answers on: the control database and the bus. */
  health: HealthCheck[];
  stop(): Promise<void>;
}

/** A taskmanager on its drivers (src/clients/factory.ts chooses them; a test hands fakes). */
export async function startTaskmanager(
  raw: RawConfig,
  log: Logger,
  drivers: FlowDrivers,
  options: {
    db?: Db;
    transport?: Transport;
    owner?: string;
    /** the backup scheduler's and the maintenance pass's clock (tests) */
    scheduleClock?: () => Date;
  } = {},
): Promise<Taskmanager> {
  const config = configSection(raw, 'DEFAULT', taskmanagerDefaults);
  const messaging = configSection(raw, 'DEFAULT', messagingDefaults);
  // read at each guest call (context.ts guestOf); a bad value stops the start, naming the key
  configSection(raw, 'upgrade_levels', upgradeLevelsSection);
  const db = options.db ?? openDatabase(configSection(raw, 'database', databaseSection));
  const transport = options.transport ?? transportFromConfig(raw, log);
  const rpc = new RpcClient(transport, log, { timeoutMs: messaging.rpc_response_timeout * 1000 });
  const runner = new FlowRunner({ db, log, owner: options.owner ?? `${hostname()}:${process.pid}`, leaseSeconds: config.flow_lease_seconds });
  const ctx: TaskContext = {
    db,
    log,
    raw,
    config,
    messaging,
    rpc,
    runner,
    secrets: new SecretBox(config.taskmanager_rpc_encr_key),
    secure: secureRpc(raw),
    notifier: notifierFromConfig(raw, log, { service: 'taskmanager', transport }),
    ...drivers,
  };
  registerFlows(ctx);
  const server = new RpcServer(transport, log);
  // a cast is acknowledged once its flow is recorded; one the database could not take is put back
  await server.serve(TASKMANAGER_TOPIC, taskmanagerContract, taskmanagerHandlers(ctx), {
    serializer: ctx.secure.taskmanager,
    redeliverWhen: databaseUnavailable,
  });
  const resumed = await runner.resumeAll();
  if (resumed.length) log.info({ instances: resumed }, 'resuming unfinished flows');
  const stopSweeper = startSweeper(ctx);
  const stopScheduler = startBackupScheduler(ctx, options.scheduleClock);
  const stopExists = startExistsEvents(ctx);
  const stopAutoscaler = startStorageAutoscaler(ctx, ctx.notifier);
  const stopMaintenance = startMaintenanceUpgrader(ctx, options.scheduleClock);
  return {
    ctx,
    health: [databaseCheck(db), rpc.healthCheck()],
    async stop() {
      runner.stop(); // no further step starts: flows in progress stay recorded for the next taskmanager
      stopSweeper();
      await stopScheduler();
      await stopExists();
      await stopAutoscaler();
      await stopMaintenance();
      await server.close();
      await rpc.close();
      await ctx.notifier.close();
      if (!options.transport) await transport.close();
      if (!options.db) await db.destroy();
    },
  };
}

// trove-guestagent: reads its config, picks the engine, serves guestagent.<instance id> on the
// bus and sends heartbeats to the conductor every report_interval seconds.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configSection } from '../src/common/config/schema.js';
import { createLogger } from '../src/common/log.js';
import { RUNTIME_DIR_RECORD, runtimeDirFor } from '../src/common/runtime-dir.js';
import { transportFromConfig, messagingDefaults } from '../src/rpc/config.js';
import { RpcClient, RpcServer } from '../src/rpc/rpc.js';
import { guestSerializers } from '../src/rpc/secure.js';
import { guestContract, guestTopic } from '../src/rpc/contracts/guest.js';
import { CONDUCTOR_TOPIC, conductorContract } from '../src/rpc/contracts/conductor.js';
import { loadServiceConfig, runService } from '../src/common/config/service-config.js';
import { readRawConfig } from '../src/common/config/reader.js';
import { detectEngines, engineFor } from './engines/index.js';
import { guestDefaults } from './config.js';
import { backupDefaults } from './backup/config.js';
import { guestLogDefaults } from './guest-log/config.js';
import { startLogArchiver } from './backup/log-archive.js';
import { StatusReporter, guestHandlers } from './manager.js';
import { reportInterruptedBackups } from './backup-handlers.js';
import { VolumeQuota } from './platform/volume-quota.js';
import { cannotStartLine } from '../src/common/guest-console.js';
import { agentVersion, packageVersion } from './agent-version.js';

/** The exit code of an agent whose configuration cannot work (sysexits' EX_CONFIG): not restarted by its unit. */
const EXIT_CONFIG = 78;
/** The exit code of an agent that installed a new package: its unit (Restart=on-failure) starts the new code. */
const EXIT_RESTART = 75;

if (process.argv.includes('--version')) {
  // `trove-guestagent --version`: the package's version (an upgrade checks a new package starts with it)
  process.stdout.write(`${packageVersion()}\n`);
  process.exit(0);
}

if (process.argv.includes('--detect-engines')) {
  // `trove-guestagent --detect-engines [--config-file f]`: the engines this machine can run, as JSON
  // (all-in-one); a config's engine sections may name builds installed side by side (version_dirs).
  const files = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--config-file' ? [a] : []));
  const raw = files.length ? readRawConfig({ files }) : {};
  process.stdout.write(`${JSON.stringify(await detectEngines(raw))}\n`);
  process.exit(0);
}

await runService('trove-guestagent', async () => {
  const raw = loadServiceConfig('trove-guestagent');
  const c = configSection(raw, 'DEFAULT', guestDefaults);
  const messaging = configSection(raw, 'DEFAULT', messagingDefaults);
  const log = createLogger('trove-guestagent', { level: c.log_level }).child({ instance_id: c.guest_id });
  mkdirSync(c.state_dir, { recursive: true, mode: 0o755 });
  const section = (raw[c.datastore_manager] ??= {});
  if (c.data_mount_point) section.mount_point = c.data_mount_point;
  if (c.data_bind_host) section.bind_host = c.data_bind_host;
  // the sockets' directory, recorded for whoever removes this agent's files (the local compute driver)
  const runtimeDir = runtimeDirFor(c.state_dir, c.runtime_dir);
  writeFileSync(path.join(c.state_dir, RUNTIME_DIR_RECORD), runtimeDir);
  const engine = engineFor(c.datastore_manager, raw, c.state_dir, log, runtimeDir);
  // replies through each caller's reply exchange: the guest's own bus user may not use the default one
  const transport = transportFromConfig(raw, log, {
    repliesViaExchange: true,
    // a refused login will not pass by waiting: say why on the console (the taskmanager reads it) and stop
    onLoginRefused: (reason) => {
      log.fatal({ reason }, 'the message bus refused this guest agent: its transport_url credentials are wrong');
      process.stderr.write(cannotStartLine(`the message bus refused the guest agent's login (its transport_url credentials): ${reason}`));
      process.exit(EXIT_CONFIG);
    },
  });
  const client = new RpcClient(transport, log, { timeoutMs: messaging.rpc_response_timeout * 1000, declareServiceTopics: false });
  const serializers = guestSerializers(c.guest_id, c.instance_rpc_encr_key);
  const conductor = client.stub(conductorContract, CONDUCTOR_TOPIC, { serializer: serializers.conductor });
  const quota =
    c.data_volume_file && c.data_mount_point ? new VolumeQuota(c.data_mount_point, c.data_volume_file, c.data_volume_unit_mb * 1024 * 1024) : undefined;
  const agent = agentVersion(c);
  const options = {
    instanceId: c.guest_id,
    agent,
    engine,
    conductor,
    log,
    quota,
    backupConfig: configSection(raw, 'DEFAULT', backupDefaults),
    guestLogs: { config: configSection(raw, 'DEFAULT', guestLogDefaults), stateFile: path.join(c.state_dir, 'guest-logs.json') },
    prepareFailedFile: path.join(c.state_dir, 'prepare-failed'),
    runningBackupsFile: path.join(c.state_dir, 'running-backups.json'),
    upgrade: { installDir: c.agent_install_dir, restart: () => void stop('upgrade', EXIT_RESTART) },
  };
  const reporter = new StatusReporter(options);
  const server = new RpcServer(transport, log);

  // After a reboot of the agent (or its VM), bring a prepared engine back up (not one whose prepare failed).
  if ((await engine.lifecycle.prepared()) && reporter.prepareFailure() === undefined)
    await engine.lifecycle.start().catch((err) => log.error({ err: err.message }, 'could not start the engine'));
  // backups the previous agent did not finish (read before this one serves): FAILED, with the reason
  void reportInterruptedBackups({ instanceId: c.guest_id, conductor, log, runningFile: options.runningBackupsFile }).catch((err) =>
    log.error({ err: (err as Error).message }, 'could not report the interrupted backups'),
  );
  await server.serve(guestTopic(c.guest_id), guestContract, guestHandlers(options, reporter), { serializer: serializers.own, version: agent.rpcVersion });
  log.info({ engine: engine.name, agent_version: agent.version, rpc_version: agent.rpcVersion }, 'guest agent serving');

  const beat = setInterval(
    () => void reporter.report().catch((err) => log.warn({ err: (err as Error).message }, 'heartbeat failed')),
    c.report_interval * 1000,
  );
  const archiver = startLogArchiver({
    instanceId: c.guest_id,
    engine,
    config: options.backupConfig,
    stateFile: path.join(c.state_dir, 'archived-logs.json'),
    log,
  });
  void reporter.report().catch(() => undefined);

  async function stop(signal: string, code = 0): Promise<void> {
    log.info({ signal }, 'guest agent stopping');
    clearInterval(beat);
    archiver?.stop();
    await server.close();
    await client.close();
    await transport.close();
    process.exit(code);
  }
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
});

// trove-taskmanager: runs and resumes the long flows.
import { z } from 'zod';
import { configSection, opt } from '../common/config/schema.js';
import { createLogger } from '../common/log.js';
import { startTaskmanager } from '../taskmanager/service.js';
import { loadServiceConfig, runService } from '../common/config/service-config.js';
import { refuseDefaultKeys } from '../rpc/secure.js';
import { serveConfiguredMetrics } from '../common/metrics/server.js';
import { cloudDrivers } from '../clients/factory.js';

await runService('trove-taskmanager', async () => {
  const raw = loadServiceConfig('trove-taskmanager');
  const { log_level } = configSection(raw, 'DEFAULT', z.object({ log_level: opt.str('info') }));
  const log = createLogger('trove-taskmanager', { level: log_level });
  refuseDefaultKeys(raw);
  const tm = await startTaskmanager(raw, log, cloudDrivers(raw, log).flows());
  log.info({ compute_driver: tm.ctx.config.compute_driver }, 'trove-taskmanager serving');
  const metrics = await serveConfiguredMetrics(raw, 'taskmanager', tm.health, log);
  const stop = async () => {
    await metrics?.close();
    await tm.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
});

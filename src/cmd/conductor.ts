// trove-conductor: serves the conductor topic; several may run at once.
import { z } from 'zod';
import { configSection, opt } from '../common/config/schema.js';
import { createLogger } from '../common/log.js';
import { startConductor } from '../conductor/service.js';
import { loadServiceConfig, runService } from '../common/config/service-config.js';
import { refuseDefaultKeys } from '../rpc/secure.js';
import { serveConfiguredMetrics } from '../common/metrics/server.js';

await runService('trove-conductor', async () => {
  const raw = loadServiceConfig('trove-conductor');
  const { log_level } = configSection(raw, 'DEFAULT', z.object({ log_level: opt.str('info') }));
  const log = createLogger('trove-conductor', { level: log_level });
  refuseDefaultKeys(raw);
  const conductor = await startConductor(raw, log);
  log.info('trove-conductor serving');
  const metrics = await serveConfiguredMetrics(raw, 'conductor', conductor.health, log);
  const stop = async () => {
    await metrics?.close();
    await conductor.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
});

// trove-conductor: serves the conductor topic; several may run at once.
import { z } from 'zod';
import { configSection, opt } from '../common/config/schema.js';
import { createLogger } from '../common/log.js';
import { startConductor } from '../conductor/service.js';
import { loadServiceConfig, runService } from '../common/config/service-config.js';
import { refuseDefaultKeys } from '../rpc/secure.js';

await runService('trove-conductor', async () => {
  const raw = loadServiceConfig('trove-conductor');
  const { log_level } = configSection(raw, 'DEFAULT', z.object({ log_level: opt.str('info') }));
  const log = createLogger('trove-conductor', { level: log_level });
  refuseDefaultKeys(raw);
  const conductor = await startConductor(raw, log);
  log.info('trove-conductor serving');
  const stop = async () => {
    await conductor.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
});

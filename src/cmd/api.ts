// trove-api: parse config, choose the drivers, wire, listen; stop cleanly on SIGINT/SIGTERM.
// With [DEFAULT] trove_api_workers other than 1, this process supervises that many worker processes
// (src/api/workers.ts), each of which runs the service below.
import { buildDeps, refuseExposedAdminToken, startApiServer } from '../api/server.js';
import { loadServiceConfig, runService } from '../common/config/service-config.js';
import { configSection } from '../common/config/schema.js';
import { createLogger } from '../common/log.js';
import { apiDefaults } from '../api/config.js';
import { databaseSection } from '../db/config.js';
import { isWorker, superviseWorkers, workerCount } from '../api/workers.js';
import { refuseDefaultKeys } from '../rpc/secure.js';
import { cloudDrivers } from '../clients/factory.js';

if (process.argv.includes('--all-in-one')) {
  await import('./all-in-one.js');
} else
  await runService('trove-api', async () => {
    const raw = loadServiceConfig('trove-api');
    const config = configSection(raw, 'DEFAULT', apiDefaults);
    const workers = workerCount(config.trove_api_workers);
    if (workers > 1 && !isWorker()) {
      // what the configuration refuses is said once, here, before any worker starts
      refuseExposedAdminToken(config, cloudDrivers(raw).api());
      refuseDefaultKeys(raw);
      configSection(raw, 'database', databaseSection);
      await superviseWorkers({ count: workers, log: createLogger('trove-api', { level: config.log_level }) });
      process.exit(0);
    }
    const deps = buildDeps(raw, cloudDrivers(raw).api());
    refuseDefaultKeys(raw);
    const server = await startApiServer(deps);
    deps.log.info({ url: server.url }, 'trove-api listening');
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      deps.log.info('trove-api stopping');
      await server.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

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
import { serveConfiguredMetrics } from '../common/metrics/server.js';
import { registry } from '../common/metrics/registry.js';
import { AggregatorRegistry } from 'prom-client';

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
      const log = createLogger('trove-api', { level: config.log_level });
      // one metrics port for all the workers: the primary serves their registries aggregated
      // (prom-client's cluster aggregation) and checks the database and the bus itself
      const own = buildDeps(raw, cloudDrivers(raw).api());
      const aggregator = new AggregatorRegistry();
      const metrics = await serveConfiguredMetrics(raw, 'api', own.health!.checks, log, () => aggregator.clusterMetrics());
      await superviseWorkers({ count: workers, log });
      await metrics?.close();
      process.exit(0);
    }
    // a worker answers the primary's scrape with this registry
    if (isWorker()) {
      new AggregatorRegistry(); // its constructor makes this process answer the primary's requests
      AggregatorRegistry.setRegistries([registry]);
    }
    const deps = buildDeps(raw, cloudDrivers(raw).api());
    refuseDefaultKeys(raw);
    const server = await startApiServer(deps);
    deps.log.info({ url: server.url }, 'trove-api listening');
    const metrics = isWorker() ? undefined : await serveConfiguredMetrics(raw, 'api', deps.health!.checks, deps.log);
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      deps.log.info('trove-api stopping');
      await metrics?.close();
      await server.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

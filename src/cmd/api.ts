// trove-api: parse config, choose the drivers, wire, listen; stop cleanly on SIGINT/SIGTERM.
import { buildDeps, startApiServer } from '../api/server.js';
import { loadServiceConfig, runService } from '../common/config/service-config.js';
import { refuseDefaultKeys } from '../rpc/secure.js';
import { cloudDrivers } from '../clients/factory.js';
import { serveConfiguredMetrics } from '../common/metrics/server.js';

if (process.argv.includes('--all-in-one')) {
  await import('./all-in-one.js');
} else
  await runService('trove-api', async () => {
    const raw = loadServiceConfig('trove-api');
    const deps = buildDeps(raw, cloudDrivers(raw).api());
    refuseDefaultKeys(raw);
    const server = await startApiServer(deps);
    deps.log.info({ url: server.url }, 'trove-api listening');
    const metrics = await serveConfiguredMetrics(raw, 'api', deps.health!.checks, deps.log);
    const stop = async () => {
      deps.log.info('trove-api stopping');
      await metrics?.close();
      await server.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

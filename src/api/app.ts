// The trove-api Koa application: the ordered middleware list, then the resource routers.
import Koa from 'koa';
import Router from '@koa/router';
import { BadMethodError, NotImplementedError } from '../common/errors.js';
import type { ApiDeps } from './deps.js';
import { requestId } from './middleware/request-id.js';
import { accessLog } from './middleware/access-log.js';
import { requestMetrics } from './middleware/request-metrics.js';
import { healthcheck } from './middleware/healthcheck.js';
import { databaseCheck } from '../db/health.js';
import { fault } from './middleware/fault.js';
import { projectScope } from './middleware/project-scope.js';
import { jsonBody } from './middleware/json-body.js';
import { versionRoutes } from './resources/versions/routes.js';
import { datastoreRoutes } from './resources/datastores/routes.js';
import { flavorRoutes } from './resources/flavors/routes.js';
import { limitRoutes } from './resources/limits/routes.js';
import { quotaRoutes } from './resources/quotas/routes.js';
import { instanceRoutes } from './resources/instances/routes.js';
import { configurationRoutes } from './resources/configurations/routes.js';
import { backupRoutes } from './resources/backups/routes.js';
import { backupStrategyRoutes } from './resources/backup-strategies/routes.js';
import { backupScheduleRoutes } from './resources/backup-schedules/routes.js';
import { pointInTimeRoutes } from './resources/point-in-time/routes.js';
import { instanceMetricsRoutes } from './resources/instance-metrics/routes.js';
import { instanceMaintenanceRoutes } from './resources/instance-maintenance/routes.js';
import { mgmtRoutes } from './resources/mgmt/routes.js';

/** Every route under /v1.0/{project_id}: method and path (Koa's :param syntax), for suites that must cover them all. */
export function projectRouteTable(deps: ApiDeps): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  for (const r of projectRouters(deps)) {
    for (const layer of r.stack) for (const method of layer.methods) if (method !== 'HEAD') out.push({ method, path: String(layer.path) });
  }
  return out;
}

/** Every resource router, mounted under /v1.0/{project_id}. */
function projectRouters(deps: ApiDeps): Router[] {
  return [
    datastoreRoutes(deps),
    flavorRoutes(deps),
    limitRoutes(deps),
    quotaRoutes(deps),
    instanceRoutes(deps),
    configurationRoutes(deps),
    backupRoutes(deps),
    backupStrategyRoutes(deps),
    mgmtRoutes(deps),
    // trove-ts extensions, under /ts so that the stock client's paths stay Trove's
    backupScheduleRoutes(deps),
    pointInTimeRoutes(deps),
    instanceMetricsRoutes(deps),
    instanceMaintenanceRoutes(deps),
  ];
}

export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  app.silent = true;

  app.use(requestId());
  app.use(accessLog(deps.log));
  app.use(requestMetrics());
  app.use(fault(deps.log));
  app.use(healthcheck(deps.health?.checks ?? [databaseCheck(deps.db)], deps.health?.detailed ?? false));
  app.use(projectScope({ tokens: deps.tokens, isAdmin: (c) => deps.authorizer.isAdmin(c), wwwAuthenticateUri: deps.wwwAuthenticateUri }, deps.rateLimiter));
  app.use(jsonBody(deps.config.max_request_body_size));

  const allowed = {
    throw: true,
    methodNotAllowed: () => new BadMethodError('The method specified is not allowed for this resource.'),
    notImplemented: () => new NotImplementedError('The method specified is not implemented.'),
  };
  const root = versionRoutes();
  app.use(root.routes()).use(root.allowedMethods(allowed));

  const project = new Router({ prefix: '/v1.0/:tenant_id' });
  for (const r of projectRouters(deps)) project.use(r.routes(), r.allowedMethods(allowed));
  app.use(project.routes()).use(project.allowedMethods(allowed));

  return app;
}

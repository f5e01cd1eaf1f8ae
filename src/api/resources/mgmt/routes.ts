// The admin-only management API under /mgmt: instances of every project, datastore versions and
// their configuration parameter rules, guest agent upgrades. (/mgmt/instances/{id}/action is in instances/actions.ts,
// /mgmt/quotas in quotas/.)
import Router from '@koa/router';
import type { ApiDeps } from '../../deps.js';
import { mgmtInstanceRoutes } from './instances.js';
import { mgmtDatastoreVersionRoutes } from './datastore-versions.js';
import { mgmtParameterRoutes } from './parameters.js';
import { mgmtAgentUpgradeRoutes } from './agent-upgrade.js';

export function mgmtRoutes(deps: ApiDeps): Router {
  const router = new Router();
  for (const sub of [mgmtInstanceRoutes(deps), mgmtDatastoreVersionRoutes(deps), mgmtParameterRoutes(deps), mgmtAgentUpgradeRoutes(deps)]) {
    router.use(sub.routes());
  }
  return router;
}

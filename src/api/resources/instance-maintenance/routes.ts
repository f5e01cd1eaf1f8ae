// trove-ts extension, under /ts so the stock client's paths stay Trove's:
//   GET /ts/instances/{id}/maintenance       the weekly window, auto_minor_version_upgrade, the last attempt
//   PUT /ts/instances/{id}/maintenance       sets them; turning automatic upgrades on with the user's Swift
//                                            records a Keystone trust for the pre-upgrade backups (off: deleted)
//   GET /ts/instances/{id}/pending_upgrades  the newer patch releases of the instance's version
import Router from '@koa/router';
import type { Context } from 'koa';
import { authorizeAction } from '../../authorizer.js';
import { BadRequestError, ValidationError } from '../../../common/errors.js';
import { parseWindow, windowOf, WindowError, type MaintenanceWindow } from '../../../common/maintenance-window.js';
import { newerPatchReleases } from '../../../common/versions.js';
import { getVersionById, listVersions, type DatastoreVersionRow } from '../../../db/datastores.js';
import { getMaintenance, saveMaintenance, type MaintenancePatch } from '../../../db/instance-maintenance.js';
import type { InstanceRecord } from '../../../db/instances.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { delegateStorage, dropNewTrust, removeTrust, type DelegatedStorage } from '../../storage-trust.js';
import { parseBody } from '../../validate.js';
import { loadInstance } from '../instances/lookup.js';
import { maintenanceUpdate, maintenanceWithParts } from './schemas.js';
import { maintenanceView, pendingUpgradeView, windowOfRecord } from './views.js';

/** The body's window: null (none), RDS's text or its parts; a 400 naming what is wrong. */
function windowFromBody(body: unknown, given: unknown): MaintenanceWindow | null {
  if (given === null) return null;
  try {
    if (typeof given === 'string') return parseWindow(given);
    if (typeof given === 'object' && !Array.isArray(given)) {
      const parts = parseBody(maintenanceWithParts, body).maintenance.window;
      return windowOf(parts.day_of_week, parts.start_time, parts.duration);
    }
  } catch (err) {
    if (err instanceof WindowError) throw new ValidationError(`maintenance['window'] ${JSON.stringify(given)}: ${err.message}`);
    throw err;
  }
  throw new ValidationError(`maintenance['window'] ${JSON.stringify(given)} is not of type 'string', 'object', 'null'`);
}

async function pendingUpgrades(deps: ApiDeps, instance: InstanceRecord): Promise<DatastoreVersionRow[]> {
  const current = await getVersionById(deps.db, instance.datastore_version_id);
  return current ? newerPatchReleases(current, await listVersions(deps.db, current.datastore_id)) : [];
}

export function instanceMaintenanceRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);
  const show = async (instance: InstanceRecord) => ({
    maintenance: maintenanceView(instance.id, await getMaintenance(deps.db, instance.id), await pendingUpgrades(deps, instance)),
  });

  router.get('/ts/instances/:id/maintenance', async (ctx) => {
    authorize(ctx, 'instance:maintenance');
    ctx.body = await show(await loadInstance(ctx, deps, param(ctx, 'id')));
  });

  router.put('/ts/instances/:id/maintenance', async (ctx) => {
    authorize(ctx, 'instance:update_maintenance');
    const raw = ctx.request.body;
    const body = parseBody(maintenanceUpdate, raw).maintenance;
    const windowGiven = Object.hasOwn((raw as { maintenance: object }).maintenance, 'window');
    if (!windowGiven && body.auto_minor_version_upgrade === undefined) {
      throw new ValidationError("maintenance: give at least one of 'window', 'auto_minor_version_upgrade'");
    }
    const window = windowGiven ? windowFromBody(raw, body.window) : undefined;
    const instance = await loadInstance(ctx, deps, param(ctx, 'id'));
    const own = await getMaintenance(deps.db, instance.id);
    const wasAuto = own?.auto_minor_version_upgrade ?? false;
    const auto = body.auto_minor_version_upgrade ?? wasAuto;
    const hasWindow = window === undefined ? Boolean(windowOfRecord(own)) : window !== null;
    if (auto && !hasWindow) {
      throw new BadRequestError(
        `Automatic minor version upgrades of instance ${instance.id} need a maintenance window: give 'window' (e.g. "sun:03:00-sun:04:00").`,
      );
    }
    const patch: MaintenancePatch = { auto_minor_version_upgrade: auto };
    if (window !== undefined) {
      patch.window_start = window?.start ?? null;
      patch.window_duration = window?.duration ?? null;
    }
    let delegated: DelegatedStorage | undefined;
    if (auto && !wasAuto) {
      // the pre-upgrade backups are taken without the caller's token: its storage now (a trust for Swift)
      delegated = await delegateStorage(ctx, deps, 'automatic minor version upgrades');
      Object.assign(patch, { storage_driver: delegated.storage_driver, user_id: delegated.user_id, sealed_credential: delegated.sealed_credential });
    }
    if (!auto && wasAuto && own?.sealed_credential) {
      const trustId = await removeTrust(ctx, deps, own.sealed_credential, 'maintenance setting');
      deps.log.info({ instance_id: instance.id, trust_id: trustId }, 'automatic upgrade trust deleted');
    }
    if (!auto && wasAuto) Object.assign(patch, { storage_driver: null, user_id: null, sealed_credential: null });
    try {
      await saveMaintenance(deps.db, instance.id, instance.tenant_id, patch);
    } catch (err) {
      if (delegated) await dropNewTrust(ctx, deps, delegated);
      throw err;
    }
    deps.log.info({ instance_id: instance.id, auto_minor_version_upgrade: auto, trust_id: delegated?.trustId }, 'maintenance settings saved');
    ctx.body = await show(instance);
  });

  router.get('/ts/instances/:id/pending_upgrades', async (ctx) => {
    authorize(ctx, 'instance:pending_upgrades');
    const instance = await loadInstance(ctx, deps, param(ctx, 'id'));
    ctx.body = { pending_upgrades: (await pendingUpgrades(deps, instance)).map(pendingUpgradeView) };
  });

  return router;
}

// POST /ts/instances/{id}/restore_to_time (trove-ts extension, under /ts so that the stock
// client's paths stay Trove's): a new instance with the source instance's data as it was at a
// time: its newest backup completed before then (with its incremental chain), then the source's
// archived transaction logs replayed up to the time by the new instance's guest.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import { BadRequestError } from '../../../common/errors.js';
import { lastCompletedBackupBefore } from '../../../db/backups.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { createInstance } from '../instances/create.js';
import { loadInstance, renderDetail } from '../instances/lookup.js';
import { restoreToTime } from './schemas.js';

export function pointInTimeRoutes(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/ts/instances/:id/restore_to_time', async (ctx) => {
    authorizeAction(ctx, deps.authorizer, requestContext(ctx), 'instance:create');
    authorizeAction(ctx, deps.authorizer, requestContext(ctx), 'backup:show');
    const body = parseBody(restoreToTime, ctx.request.body).instance;
    const source = await loadInstance(ctx, deps, param(ctx, 'id'));
    const time = new Date(body.restore_time);
    if (time.getTime() > Date.now()) throw new BadRequestError(`restore_time ${body.restore_time} is in the future.`);
    const backup = await lastCompletedBackupBefore(deps.db, source.id, time);
    if (!backup) throw new BadRequestError(`Instance ${source.id} has no backup completed before ${time.toISOString()} to restore from.`);
    const row = await createInstance(
      ctx,
      deps,
      { name: body.name, flavorRef: body.flavorRef, volume: body.volume, availability_zone: body.availability_zone, restorePoint: { backupRef: backup.id } },
      { time: time.toISOString(), source_instance_id: source.id },
    );
    ctx.status = 200;
    ctx.body = { instance: await renderDetail(ctx, deps, row) };
  });

  return router;
}

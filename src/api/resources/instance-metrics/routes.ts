// trove-ts extension, under /ts so the stock client's paths stay Trove's:
//   GET /ts/instances/{id}/metrics  the engine's latest figures, their short history and the alarms they pass
//   GET /ts/instances/{id}/alarms   the alarm thresholds in force and the storage autoscaling limit
//   PUT /ts/instances/{id}/alarms   sets them (null: back to the configured default; autoscaling off)
import Router from '@koa/router';
import type { Context } from 'koa';
import { authorizeAction } from '../../authorizer.js';
import { BadRequestError } from '../../../common/errors.js';
import { alarmWarnings } from '../../../common/metrics/alarms.js';
import { defaultThresholds } from '../../../common/metrics/config.js';
import type { EngineMetrics } from '../../../common/engine-metrics.js';
import { alarmThresholds, getInstanceAlarms, saveInstanceAlarms } from '../../../db/instance-alarms.js';
import { recentMetricSamples } from '../../../db/instance-metrics.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { loadInstance } from '../instances/lookup.js';
import { alarmsUpdate } from './schemas.js';
import { alarmsView, metricsView } from './views.js';

export function instanceMetricsRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);

  router.get('/ts/instances/:id/metrics', async (ctx) => {
    authorize(ctx, 'instance:metrics');
    const instance = await loadInstance(ctx, deps, param(ctx, 'id'));
    const rows = await recentMetricSamples(deps.db, instance.id, deps.config.metrics_history_length);
    const thresholds = await alarmThresholds(deps.db, instance.id, defaultThresholds(deps.config));
    const warnings = rows[0] ? alarmWarnings(rows[0].metrics as EngineMetrics, thresholds) : [];
    ctx.body = { metrics: metricsView(instance.id, rows, warnings) };
  });

  router.get('/ts/instances/:id/alarms', async (ctx) => {
    authorize(ctx, 'instance:alarms');
    const instance = await loadInstance(ctx, deps, param(ctx, 'id'));
    const thresholds = await alarmThresholds(deps.db, instance.id, defaultThresholds(deps.config));
    ctx.body = { alarms: alarmsView(instance.id, thresholds, await getInstanceAlarms(deps.db, instance.id)) };
  });

  router.put('/ts/instances/:id/alarms', async (ctx) => {
    authorize(ctx, 'instance:update_alarms');
    const body = parseBody(alarmsUpdate, ctx.request.body).alarms;
    const instance = await loadInstance(ctx, deps, param(ctx, 'id'));
    const max = body.max_volume_size;
    if (max !== undefined && max !== null) {
      const size = Number(instance.volume_size ?? 0);
      if (!size) throw new BadRequestError(`Instance ${instance.id} has no volume to grow.`);
      if (max <= size) throw new BadRequestError(`max_volume_size ${max} must be larger than the volume's size (${size} GB).`);
      if (max > deps.config.max_accepted_volume_size)
        throw new BadRequestError(`max_volume_size ${max} is larger than the largest volume accepted (${deps.config.max_accepted_volume_size} GB).`);
    }
    await saveInstanceAlarms(deps.db, instance.id, instance.tenant_id, body);
    const thresholds = await alarmThresholds(deps.db, instance.id, defaultThresholds(deps.config));
    ctx.body = { alarms: alarmsView(instance.id, thresholds, await getInstanceAlarms(deps.db, instance.id)) };
  });

  return router;
}

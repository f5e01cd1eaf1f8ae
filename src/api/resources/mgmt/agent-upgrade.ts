// POST /mgmt/instances/{id}/upgrade (Trove's mgmt upgrade of an instance's guest agent, body
// {"upgrade": {instance_version, location, metadata}}), admin only. With a package (the call's
// location, or [DEFAULT] guest_agent_package_location): the guest installs it and restarts on it
// (upgrade_agent, RPC 1.2: an older agent is refused with a 400 saying so). Without one, in the
// all-in-one: the agent process restarts on the installed code. The engine keeps running either
// way; 202 once the new agent is installed (or started); a failure keeps the old agent and says why.
import Router from '@koa/router';
import type { Context } from 'koa';
import { authorizeAction } from '../../authorizer.js';
import { BadRequestError, NotFoundError, UnprocessableEntityError } from '../../../common/errors.js';
import { getInstance } from '../../../db/instances.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { agentUpgradeBody } from './schemas.js';

export function mgmtAgentUpgradeRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const authorize = (ctx: Context) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), 'instance:extension:mgmt:upgrade');

  router.post('/mgmt/instances/:id/upgrade', async (ctx) => {
    authorize(ctx);
    const id = param(ctx, 'id');
    const row = await getInstance(deps.db, id);
    if (!row) throw NotFoundError.resource(id);
    const { upgrade } = parseBody(agentUpgradeBody, ctx.request.body);
    if (!row.compute_instance_id) throw new UnprocessableEntityError(`Instance ${id} has no server yet: there is no guest agent to upgrade.`);
    const location = upgrade.location ?? (deps.config.guest_agent_package_location || undefined);
    if (location) {
      const checksum = upgrade.metadata?.checksum ?? (upgrade.location ? undefined : deps.config.guest_agent_package_checksum || undefined);
      const installed = await deps
        .guest(row.id, row.encrypted_key)
        .upgrade_agent({ location, checksum: checksum ?? null }, { timeoutMs: deps.config.agent_call_high_timeout * 1000 });
      deps.log.info({ instance_id: row.id, version: installed.version }, 'guest agent upgraded');
    } else if (deps.guestAgents) {
      const version = await deps.guestAgents.restartAgent(row.compute_instance_id).catch((err: Error) => {
        throw new BadRequestError(err.message, { cause: err });
      });
      deps.log.info({ instance_id: row.id, version }, 'guest agent restarted on the installed code');
    } else {
      throw new BadRequestError('No guest agent package to upgrade to: give upgrade.location, or set [DEFAULT] guest_agent_package_location.');
    }
    ctx.status = 202;
  });

  return router;
}

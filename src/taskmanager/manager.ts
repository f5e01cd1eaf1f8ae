// Contract verb → flow, nothing else. Each handler records the flow and returns (the message is
// acknowledged once the flow is in the database); the FlowRunner runs and resumes it.
import type { Handlers } from '../rpc/contract.js';
import type { TaskmanagerContract } from '../rpc/contracts/taskmanager.js';
import type { TaskContext } from './context.js';
import { PROVISION, provisionFlow, type ProvisionData } from './flows/provision.js';
import { DELETE, deleteFlow } from './flows/delete.js';
import { lifecycleFlows } from './flows/lifecycle.js';
import { CONFIGURATION, configurationFlow, type ConfigurationData } from './flows/configuration.js';

export function registerFlows(ctx: TaskContext): void {
  ctx.runner.register(provisionFlow(ctx));
  ctx.runner.register(deleteFlow(ctx));
  for (const f of lifecycleFlows(ctx)) ctx.runner.register(f);
  ctx.runner.register(configurationFlow(ctx));
}

function refuse(what: string): never {
  const err = new Error(`${what}: not supported by this taskmanager yet.`);
  err.name = 'NotSupportedError';
  throw err;
}

export function taskmanagerHandlers(ctx: TaskContext): Handlers<TaskmanagerContract> {
  const c = ctx.config;
  const begin = (flow: string, id: string, data: object, seconds: number) => ctx.runner.begin(flow, id, data, seconds);
  return {
    create_instance: async (a) => {
      const row = await ctx.db('instances').where({ id: a.instance_id }).first('tenant_id');
      if (!row) throw new Error(`instance ${a.instance_id} is not in the database`);
      const { users, ...rest } = a;
      const data: ProvisionData = { args: { ...rest, sealedUsers: ctx.secrets.seal(JSON.stringify(users)) }, tenantId: row.tenant_id };
      await begin(PROVISION, a.instance_id, data, c.usage_timeout);
    },
    delete_instance: async (a) => begin(DELETE, a.instance_id, {}, c.server_delete_time_out * 3 + c.agent_call_low_timeout + 60),
    restart: async (a) => begin('restart', a.instance_id, {}, c.state_change_wait_time + c.agent_call_high_timeout),
    reboot: async (a) => begin('reboot', a.instance_id, {}, c.reboot_time_out + c.state_change_wait_time),
    stop_db: async (a) => begin('stop_db', a.instance_id, {}, c.agent_call_high_timeout),
    start_db: async (a) => begin('start_db', a.instance_id, {}, c.state_change_wait_time + c.agent_call_high_timeout),
    resize_flavor: async (a) =>
      begin('resize_flavor', a.instance_id, { oldFlavorId: a.old_flavor_id, newFlavorId: a.new_flavor_id }, c.resize_time_out + c.agent_call_high_timeout),
    resize_volume: async (a) => begin('resize_volume', a.instance_id, { newSize: a.new_size }, c.resize_time_out),
    update_access: async (a) => begin('update_access', a.instance_id, {}, c.state_change_wait_time),
    apply_configuration: async (a) => {
      const data: ConfigurationData = {
        configurationId: a.configuration_id,
        previousId: a.previous_configuration_id,
        restartRequired: a.restart_required,
        changed: a.changed,
      };
      await begin(CONFIGURATION, a.instance_id, data, c.agent_call_low_timeout * 2 + 30);
    },
    unassign_configuration: async (a) => {
      const data: ConfigurationData = { configurationId: null, previousId: a.previous_configuration_id, restartRequired: a.restart_required, changed: null };
      await begin(CONFIGURATION, a.instance_id, data, c.agent_call_low_timeout * 2 + 30);
    },
    // Not built yet: the API answers these with Trove's 501 before casting; a cast from elsewhere is refused here.
    create_backup: async () => refuse('Backups'),
    delete_backup: async () => refuse('Backups'),
    detach_replica: async () => refuse('Replication'),
    promote_to_replica_source: async () => refuse('Replication'),
    eject_replica_source: async () => refuse('Replication'),
  };
}

// Contract verb → flow, nothing else. Each handler records the flow and returns (the message is
// acknowledged once the flow is in the database); the FlowRunner runs and resumes it.
import type { HandlerContext, Handlers } from '../rpc/contract.js';
import { noticeOf } from '../notifications/dbaas.js';
import type { FlowDefinition } from './flow.js';
import { finishingNotices } from './flow-notices.js';
import type { TaskmanagerContract } from '../rpc/contracts/taskmanager.js';
import { getInstanceRow } from '../db/instances.js';
import type { TaskContext } from './context.js';
import { PROVISION, provisionFlow, type ProvisionData } from './flows/provision.js';
import { DELETE, deleteFlow } from './flows/delete.js';
import { lifecycleFlows } from './flows/lifecycle.js';
import { CONFIGURATION, configurationFlow, type ConfigurationData } from './flows/configuration.js';
import { backupFlow, beginBackup } from './flows/backup.js';
import { deleteBackup } from './backup-delete.js';
import { PROVISION_REPLICA, replicaFlow, type ReplicaData } from './flows/replica.js';
import { DETACH_REPLICA, detachReplicaFlow } from './flows/detach-replica.js';
import { PROMOTE, promoteFlow } from './flows/promote.js';
import { EJECT, ejectFlow } from './flows/eject.js';
import { beginUpgrade, upgradeFlow } from './flows/upgrade.js';

export function registerFlows(ctx: TaskContext): void {
  // a flow an API action announced (dbaas.<action>.start) ends its notification (.end/.error)
  const register = <D>(f: FlowDefinition<D>) => ctx.runner.register(finishingNotices(ctx, f));
  register(provisionFlow(ctx));
  register(deleteFlow(ctx));
  for (const f of lifecycleFlows(ctx)) register(f);
  register(configurationFlow(ctx));
  register(backupFlow(ctx));
  register(replicaFlow(ctx));
  register(detachReplicaFlow(ctx));
  register(promoteFlow(ctx));
  register(ejectFlow(ctx));
  register(upgradeFlow(ctx));
}

export function taskmanagerHandlers(ctx: TaskContext): Handlers<TaskmanagerContract> {
  const c = ctx.config;
  const begin = (flow: string, id: string, data: object, seconds: number): Promise<boolean> => ctx.runner.begin(flow, id, data, seconds);
  // the dbaas notification the API started, kept with the flow that finishes it
  const record = async (flow: string, id: string, data: object, seconds: number, h?: HandlerContext): Promise<void> => {
    const notice = h?.context && noticeOf(h.context);
    await begin(flow, id, notice ? { ...data, notice } : data, seconds);
  };
  return {
    create_instance: async (a, h) => {
      const row = await getInstanceRow(ctx.db, a.instance_id);
      if (!row) throw new Error(`instance ${a.instance_id} is not in the database`);
      const { users, restore_storage, slave_of_id, ...rest } = a;
      const data: ProvisionData = {
        args: {
          ...rest,
          sealedUsers: ctx.secrets.seal(JSON.stringify(users)),
          sealedStorage: restore_storage ? ctx.secrets.seal(JSON.stringify(restore_storage)) : null,
        },
        tenantId: row.tenant_id,
      };
      if (slave_of_id) {
        // a replica: a snapshot backup of the source, then a restore of it (each bounded on its own too)
        const replica: ReplicaData = { ...data, sourceId: slave_of_id };
        await record(PROVISION_REPLICA, a.instance_id, replica, c.restore_usage_timeout * 2 + c.agent_call_high_timeout, h);
        return;
      }
      await record(PROVISION, a.instance_id, data, a.backup_id ? c.restore_usage_timeout : c.usage_timeout, h);
    },
    delete_instance: async (a, h) => record(DELETE, a.instance_id, {}, c.server_delete_time_out * 3 + c.agent_call_low_timeout + 60, h),
    restart: async (a, h) => record('restart', a.instance_id, {}, c.state_change_wait_time + c.agent_call_high_timeout, h),
    reboot: async (a) => record('reboot', a.instance_id, {}, c.reboot_time_out + c.state_change_wait_time),
    stop_db: async (a) => record('stop_db', a.instance_id, {}, c.agent_call_high_timeout),
    start_db: async (a) => record('start_db', a.instance_id, {}, c.state_change_wait_time + c.agent_call_high_timeout),
    resize_flavor: async (a, h) =>
      record('resize_flavor', a.instance_id, { oldFlavorId: a.old_flavor_id, newFlavorId: a.new_flavor_id }, c.resize_time_out + c.agent_call_high_timeout, h),
    resize_volume: async (a, h) => record('resize_volume', a.instance_id, { newSize: a.new_size }, c.resize_time_out, h),
    update_access: async (a) => record('update_access', a.instance_id, {}, c.state_change_wait_time),
    apply_configuration: async (a) => {
      const data: ConfigurationData = {
        configurationId: a.configuration_id,
        previousId: a.previous_configuration_id,
        restartRequired: a.restart_required,
        changed: a.changed,
      };
      await record(CONFIGURATION, a.instance_id, data, c.agent_call_low_timeout * 2 + 30);
    },
    unassign_configuration: async (a) => {
      const data: ConfigurationData = { configurationId: null, previousId: a.previous_configuration_id, restartRequired: a.restart_required, changed: null };
      await record(CONFIGURATION, a.instance_id, data, c.agent_call_low_timeout * 2 + 30);
    },
    create_backup: async (a) => void (await beginBackup(ctx, a.instance_id, a.backup_info, a.storage)),
    delete_backup: async (a) => deleteBackup(ctx, a.backup_id, a.storage),
    detach_replica: async (a) => record(DETACH_REPLICA, a.instance_id, {}, c.agent_call_high_timeout * 2 + 30),
    promote_to_replica_source: async (a) => record(PROMOTE, a.instance_id, {}, c.state_change_wait_time * 2 + c.agent_call_high_timeout * 8),
    eject_replica_source: async (a) => record(EJECT, a.instance_id, {}, c.agent_call_high_timeout * 10 + c.agent_call_low_timeout * 9),
    upgrade: async (a) => void (await beginUpgrade(ctx, a.instance_id, a.datastore_version_id, a.storage)),
  };
}

// Applying a configuration group on an instance (Trove's save_configuration + apply_configuration):
// the guest writes the group's values into the engine's configuration, the dynamic ones are set
// on the running engine at once, and a static one (or a detach) leaves the task RESTART_REQUIRED
// until a restart. A guest that refuses the new values leaves the previous group attached.
import { Tasks } from '../../common/instance-tasks.js';
import { clearFaults, getInstanceRow, recordFault, setTask } from '../../db/instances.js';
import { faultDetails, faultMessage, instanceConsoleTail } from '../faults.js';
import { configurationOverrides, splitByRestart } from '../../db/configurations.js';
import { listConfigParameters } from '../../db/datastores.js';
import type { FlowDefinition } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';

export const CONFIGURATION = 'configuration';

export interface ConfigurationData {
  /** The group to apply; null detaches (the guest drops every override). */
  configurationId: string | null;
  previousId: string | null;
  /** A restart is needed whatever the values (pending already, values dropped, a detach). */
  restartRequired: boolean;
  /** The keys whose value changed (null: all of them, as on attach). */
  changed: string[] | null;
  /** Set by the apply step: some changed value is static. */
  staticValues?: boolean;
  /** The guest has the new overrides on disk. */
  written?: boolean;
}

export function configurationFlow(ctx: TaskContext): FlowDefinition<ConfigurationData> {
  const low = () => ({ timeoutMs: ctx.config.agent_call_low_timeout * 1000 });
  const restartPending = (d: ConfigurationData) => d.restartRequired || d.configurationId === null || d.staticValues === true;
  return {
    name: CONFIGURATION,
    steps: [
      {
        name: 'update_overrides',
        run: async (s) => {
          const overrides = await configurationOverrides(ctx.db, s.data.configurationId);
          await guestOf(ctx, s.instanceId).update_overrides({ overrides, remove: s.data.configurationId === null }, low());
          s.data.written = true;
          await s.save();
        },
      },
      {
        name: 'apply_overrides',
        run: async (s) => {
          if (s.data.configurationId === null) return;
          const row = await getInstanceRow(ctx.db, s.instanceId);
          if (!row) throw new Error(`Instance ${s.instanceId} is gone.`);
          const rules = await listConfigParameters(ctx.db, row.datastore_version_id);
          const { dynamic, static: stat } = splitByRestart(await configurationOverrides(ctx.db, s.data.configurationId), rules);
          const changed = s.data.changed;
          s.data.staticValues = stat.some((k) => changed === null || changed.includes(k));
          await s.save();
          if (Object.keys(dynamic).length) await guestOf(ctx, s.instanceId).apply_overrides({ overrides: dynamic }, low());
          s.log.info({ dynamic: Object.keys(dynamic), static: stat }, 'configuration applied');
        },
      },
    ],
    done: async (s) => {
      await clearFaults(ctx.db, s.instanceId);
      await setTask(ctx.db, s.instanceId, restartPending(s.data) ? Tasks.RESTART_REQUIRED : Tasks.NONE);
    },
    fail: async (s, error, step) => {
      await recordFault(
        ctx.db,
        s.instanceId,
        faultMessage(`Applying the configuration group failed in step ${step}: ${error.message}`),
        faultDetails(error, await instanceConsoleTail(ctx, s.instanceId)),
      );
      if (s.data.written) {
        // the values are on disk: a restart puts them in effect
        await setTask(ctx.db, s.instanceId, Tasks.RESTART_REQUIRED);
      } else {
        const task = s.data.restartRequired ? Tasks.RESTART_REQUIRED : Tasks.NONE;
        await setTask(ctx.db, s.instanceId, task, undefined, { configuration_id: s.data.previousId });
      }
    },
  };
}

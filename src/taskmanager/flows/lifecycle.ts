// The short lifecycle flows: restart, stop, start, reboot, resize flavor, resize volume, access.
// Each ends with the task back to NONE; a failure also records a fault the user sees.
import { Tasks } from '../../common/instance-tasks.js';
import { clearFaults, getInstanceRow, recordFault, setTask, updateInstance, parseAccess } from '../../db/instances.js';
import { getVersionById } from '../../db/datastores.js';
import { changeUsage, giveBack, quotaLimits, resizeRamReserved, UNLIMITED } from '../../db/quotas.js';
import { configSection } from '../../common/config/schema.js';
import type { FlowDefinition, Step, StepContext } from '../flow.js';
import { guestOf, type TaskContext } from '../context.js';
import { waitForGuestReady, waitForServer } from '../waits.js';
import { faultDetails, faultMessage, instanceConsoleTail } from '../faults.js';
import { datastorePortsSection } from '../config.js';
import { sendUsageEvent } from '../usage-events.js';
import { noticeIn } from '../flow-notices.js';
import { isotime } from '../../notifications/envelope.js';

export interface ActionData {
  oldFlavorId?: string;
  newFlavorId?: string;
  newSize?: number;
  /** the volume's size before a volume resize (its usage event's old_volume_size) */
  oldSize?: number | null;
  startedAt?: string;
}

/** What a failed action gives back before its task is released (e.g. the quota the API took for it). */
type Undo = (s: StepContext<ActionData>) => Promise<void>;

/** What a successful action sends when its task is released (a usage event). */
type Finished = (s: StepContext<ActionData>) => Promise<void>;

function action(ctx: TaskContext, name: string, label: string, steps: Step<ActionData>[], undo?: Undo, finished?: Finished): FlowDefinition<ActionData> {
  return {
    name,
    steps: [
      {
        name: 'begin',
        run: async (s) => {
          s.data.startedAt = new Date().toISOString();
          await s.save();
        },
      },
      ...steps,
    ],
    done: async (s) => {
      await clearFaults(ctx.db, s.instanceId);
      await setTask(ctx.db, s.instanceId, Tasks.NONE);
      await finished?.(s);
    },
    fail: async (s, error, step) => {
      await recordFault(
        ctx.db,
        s.instanceId,
        faultMessage(`${label} failed in step ${step}: ${error.message}`),
        faultDetails(error, await instanceConsoleTail(ctx, s.instanceId)),
      );
      // an undo that fails is logged, never a flow that cannot end (it would be run again for ever)
      await undo?.(s).catch((err: unknown) => s.log.error({ err: (err as Error).message }, `${label}: could not give back what the action took`));
      await setTask(ctx.db, s.instanceId, Tasks.NONE);
    },
  };
}

export function lifecycleFlows(ctx: TaskContext): FlowDefinition<ActionData>[] {
  const guest = (id: string) => guestOf(ctx, id);
  const high = { timeoutMs: ctx.config.agent_call_high_timeout * 1000 };
  const ready = {
    name: 'wait_ready',
    run: async (s: { instanceId: string; data: ActionData; deadline: number }) => waitForGuestReady(ctx, s.instanceId, new Date(s.data.startedAt!), s.deadline),
  };
  const row = async (id: string) => {
    const r = await getInstanceRow(ctx.db, id);
    if (!r) throw new Error(`Instance ${id} is gone.`);
    return r;
  };
  const serverOf = async (id: string) => {
    const server = (await row(id)).compute_instance_id;
    if (!server) throw new Error(`Instance ${id} has no server.`);
    return server;
  };

  return [
    action(ctx, 'restart', 'Restart', [{ name: 'restart', run: async (s) => void (await guest(s.instanceId).restart({}, high)) }, ready]),
    action(ctx, 'stop_db', 'Stop', [{ name: 'stop', run: async (s) => void (await guest(s.instanceId).stop_db({}, high)) }]),
    action(ctx, 'start_db', 'Start', [{ name: 'start', run: async (s) => void (await guest(s.instanceId).start_db_with_conf_changes({}, high)) }, ready]),
    action(ctx, 'reboot', 'Reboot', [
      {
        name: 'reboot',
        run: async (s) => {
          const id = await serverOf(s.instanceId);
          await ctx.compute.rebootServer(id);
          const server = await waitForServer(ctx, id, ['ACTIVE'], Date.now() + ctx.config.reboot_time_out * 1000);
          await updateInstance(ctx.db, s.instanceId, { server_status: server.status, addresses: JSON.stringify(server.addresses) });
        },
      },
      ready,
    ]),
    action(
      ctx,
      'resize_flavor',
      'Resize',
      [
        {
          name: 'resize_server',
          run: async (s) => {
            const id = await serverOf(s.instanceId);
            const flavor = await ctx.compute.getFlavor(s.data.newFlavorId!);
            await ctx.compute.resizeServer(id, flavor);
            await waitForServer(ctx, id, ['VERIFY_RESIZE', 'ACTIVE'], Date.now() + ctx.config.resize_time_out * 1000);
            await ctx.compute.confirmResize(id);
          },
        },
        {
          name: 'reconfigure',
          run: async (s) => {
            const flavor = await ctx.compute.getFlavor(s.data.newFlavorId!);
            await guest(s.instanceId).start_db_with_conf_changes({ memory_mb: flavor.ram }, high);
            const r = await row(s.instanceId);
            const old = await ctx.compute.getFlavor(s.data.oldFlavorId!).catch(() => undefined);
            await updateInstance(ctx.db, s.instanceId, { flavor_id: flavor.id });
            if (old && old.ram > flavor.ram) {
              const limits = await quotaLimits(ctx.db, r.tenant_id, UNLIMITED);
              await changeUsage(ctx.db, r.tenant_id, { ram: flavor.ram - old.ram }, limits);
            }
          },
        },
        ready,
      ],
      async (s) => {
        // the API took the growth in RAM; an instance still of its old flavor gives it back
        const r = await row(s.instanceId);
        if (r.flavor_id !== s.data.oldFlavorId) return;
        const flavor = await ctx.compute.getFlavor(s.data.newFlavorId!);
        const old = await ctx.compute.getFlavor(s.data.oldFlavorId!).catch(() => undefined);
        const ram = resizeRamReserved(old?.ram, flavor.ram);
        if (ram > 0) await giveBack(ctx.db, r.tenant_id, { ram });
      },
      async (s) => {
        // Trove's TroveInstanceModifyFlavor
        const [old, flavor] = await Promise.all([s.data.oldFlavorId!, s.data.newFlavorId!].map((id) => ctx.compute.getFlavor(id).catch(() => undefined)));
        const at = isotime(new Date());
        await sendUsageEvent(
          ctx,
          s.instanceId,
          'modify_flavor',
          { old_instance_size: old?.ram ?? null, instance_size: flavor?.ram ?? null, launched_at: at, modify_at: at },
          noticeIn(s.data)?.context,
        );
      },
    ),
    action(
      ctx,
      'resize_volume',
      'Volume resize',
      [
        {
          name: 'extend',
          run: async (s) => {
            const r = await row(s.instanceId);
            if (s.data.oldSize === undefined) {
              s.data.oldSize = r.volume_size;
              await s.save();
            }
            if (r.volume_id) await ctx.volumes.extendVolume(r.volume_id, s.data.newSize!);
            await guest(s.instanceId).resize_fs({}, high);
            await updateInstance(ctx.db, s.instanceId, { volume_size: s.data.newSize! });
          },
        },
      ],
      async (s) => {
        // the API took the added GB; a volume that was not extended gives them back, one that was
        // (the file system's resize failed) is recorded at its new size and keeps them
        const r = await row(s.instanceId);
        const newSize = s.data.newSize!;
        if (r.volume_size === null || r.volume_size >= newSize) return;
        if (r.volume_id && (await ctx.volumes.getVolume(r.volume_id)).size >= newSize) {
          await updateInstance(ctx.db, s.instanceId, { volume_size: newSize });
          return;
        }
        await giveBack(ctx.db, r.tenant_id, { volumes: newSize - r.volume_size });
      },
      async (s) => {
        // Trove's TroveInstanceModifyVolume
        const at = isotime(new Date());
        await sendUsageEvent(
          ctx,
          s.instanceId,
          'modify_volume',
          {
            old_volume_size: s.data.oldSize ?? null,
            launched_at: at,
            modify_at: at,
            volume_size: s.data.newSize!,
          },
          noticeIn(s.data)?.context,
        );
      },
    ),
    action(ctx, 'update_access', 'Access update', [
      {
        name: 'rules',
        run: async (s) => {
          const r = await row(s.instanceId);
          const access = parseAccess(r) ?? { is_public: false, allowed_cidrs: [] };
          const version = await getVersionById(ctx.db, r.datastore_version_id);
          if (!version) throw new Error(`The datastore version ${r.datastore_version_id} is gone.`);
          const ports = configSection(ctx.raw, version.manager, datastorePortsSection).tcp_ports;
          const cidrs = access.allowed_cidrs.length ? access.allowed_cidrs : ['0.0.0.0/0'];
          await ctx.network.replaceRules(
            `SecGroup_${s.instanceId}`,
            ports.flatMap((p) => cidrs.map((cidr) => ({ protocol: 'tcp' as const, port: Number(p), cidr }))),
          );
        },
      },
    ]),
  ];
}

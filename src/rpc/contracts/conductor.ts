// trove-conductor: what guests report (all casts; the conductor drops messages older than the
// last one it applied, by `sent`).
import { z } from 'zod';
import { defineContract } from '../contract.js';
import { backupState, jsonObject, nothing, rpcVersion } from './common.js';

export { CONDUCTOR_TOPIC } from '../topics.js';

/** seconds since the epoch, with a fraction (Python's timeutils.utcnow_ts(microsecond=True)) */
const sent = z.number().optional();

export const conductorContract = defineContract({
  heartbeat: {
    kind: 'cast',
    since: '1.0',
    args: z.object({
      instance_id: z.string(),
      payload: z
        .object({
          service_status: z.string().optional(),
          /** trove-ts: with 'failed to spawn', why (the engine's own error lines, secrets scrubbed) */
          failure_reason: z.string().optional(),
          /** trove-ts: with 'failed to spawn', the guest's log tail behind it (agent + engine error lines) */
          failure_log_tail: z.string().optional(),
          /** trove-ts: the agent's package version (an older agent sends none; a bad value is ignored, the heartbeat still counts) */
          agent_version: z.string().max(100).optional().catch(undefined),
          /** trove-ts: the guest RPC API version the agent serves: the control plane sends it no newer verb */
          agent_rpc_version: rpcVersion.optional().catch(undefined),
          /**
           * trove-ts: the engine's figures (src/common/engine-metrics.ts). Unknown here on purpose:
           * malformed metrics are dropped by the conductor, never the heartbeat that carries them.
           */
          metrics: z.unknown().optional(),
        })
        .passthrough(),
      sent,
    }),
    result: nothing,
  },
  update_backup: {
    kind: 'cast',
    since: '1.0',
    args: z.object({
      instance_id: z.string(),
      backup_id: z.string(),
      sent,
      size: z.number().nullish(),
      state: backupState.optional(),
      backup_type: z.string().nullish(),
      checksum: z.string().nullish(),
      location: z.string().nullish(),
      success: z.boolean().optional(),
      /** trove-ts: with FAILED, why (the tool's own error lines, secrets scrubbed) */
      fail_reason: z.string().nullish(),
    }),
    result: nothing,
  },
  report_root: {
    kind: 'cast',
    since: '1.0',
    args: z.object({ instance_id: z.string(), user: z.string().nullish() }),
    result: nothing,
  },
  notify_end: {
    kind: 'cast',
    since: '1.0',
    args: z.object({ serialized_notification: jsonObject, notification_args: jsonObject.default({}) }),
    result: nothing,
  },
  notify_exc_info: {
    kind: 'cast',
    since: '1.0',
    args: z.object({
      serialized_notification: jsonObject,
      message: z.string(),
      exception: z.union([z.string(), z.array(z.string())]).nullish(),
    }),
    result: nothing,
  },
  /** trove-ts: the guest's data volume usage in GB, shown as volume.used. */
  report_usage: {
    kind: 'cast',
    since: '1.0',
    args: z.object({ instance_id: z.string(), used_gb: z.number(), total_gb: z.number(), sent }),
    result: nothing,
  },
});

export type ConductorContract = typeof conductorContract;

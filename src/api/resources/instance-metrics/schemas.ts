// The body of PUT /ts/instances/{id}/alarms (trove-ts extension): any of the thresholds and the
// storage autoscaling limit; null puts a threshold back to the configured default (and turns
// autoscaling off).
import { z } from 'zod';

const percent = z.number().min(1).max(100);

export const alarmsUpdate = z
  .object({
    alarms: z
      .object({
        volume_used_percent: percent.nullable().optional(),
        connections_percent: percent.nullable().optional(),
        replication_lag_seconds: z.number().min(1).max(604_800).nullable().optional(),
        max_volume_size: z.number().int().min(1).nullable().optional(),
      })
      .strict(),
  })
  .strict();

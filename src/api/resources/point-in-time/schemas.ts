// The body of POST /ts/instances/{id}/restore_to_time (trove-ts extension): the new instance as
// in POST /instances, and the time to restore the source instance's data to.
import { z } from 'zod';

export const restoreToTime = z
  .object({
    instance: z
      .object({
        name: z.string().min(1).max(255),
        flavorRef: z.union([z.string().min(1).max(255), z.number().int().positive().transform(String)]),
        volume: z
          .object({ size: z.number().int().positive(), type: z.string().min(1).max(255).nullable().optional() })
          .strict()
          .optional(),
        availability_zone: z.string().min(1).max(255).optional(),
        /** ISO 8601 with a zone (e.g. 2026-11-30T12:00:00Z): the data as committed before this instant */
        restore_time: z.string().datetime({ offset: true, message: 'must be an ISO 8601 time with a zone, e.g. 2026-11-30T12:00:00Z' }),
      })
      .strict(),
  })
  .strict();

// The body of PUT /ts/instances/{id}/maintenance (trove-ts extension): the weekly window, as RDS
// writes it (`sun:03:00-sun:04:00`) or as its parts, null for none; and auto_minor_version_upgrade.
// The window's text is read field by field after the shape (src/common/maintenance-window.ts).
import { z } from 'zod';

export const windowPartsSchema = z
  .object({
    day_of_week: z.string().min(1).max(16),
    start_time: z.string().min(1).max(16),
    duration: z.number().int().min(1),
  })
  .strict();

export const maintenanceUpdate = z
  .object({
    maintenance: z
      .object({
        /** a string or the parts object: read by the route, which words either's errors */
        window: z.unknown().optional(),
        auto_minor_version_upgrade: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

/** The same body with the window as its parts, parsed only when the window is an object (the errors name its fields). */
export const maintenanceWithParts = z.object({ maintenance: z.object({ window: windowPartsSchema }).passthrough() }).passthrough();

// Request bodies of /ts/instances/{id}/backup_schedules (trove-ts extension). The cron expression
// is checked field by field after the shape (src/common/cron-schedule.ts).
import { z } from 'zod';

/** A schedule's backups are named `<name>-<UTC time of the run>` (16 characters), within Trove's 80. */
const name = z
  .string()
  .min(1)
  .max(60)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'is not a valid name (letters, digits, . _ -)' });
const cron = z.string().min(1).max(128);
const retention = z.number().int().min(1, { message: 'is less than the minimum of 1' }).max(1000, { message: 'is greater than the maximum of 1000' });

export const scheduleCreate = z
  .object({
    backup_schedule: z
      .object({
        name,
        cron,
        retention,
        enabled: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

export const scheduleUpdate = z
  .object({
    backup_schedule: z
      .object({
        cron: cron.optional(),
        retention: retention.optional(),
        enabled: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

export type ScheduleCreateBody = z.output<typeof scheduleCreate>['backup_schedule'];

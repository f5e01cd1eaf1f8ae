// Request bodies of /backups and /backup_strategies (Trove's apischema).
import { z } from 'zod';

const uuid = z.string().regex(/^[0-9a-fA-F-]{32,36}$/, { message: 'is not a valid UUID' });
/** Swift's container rules: no '/', not empty, at most 256 bytes. */
const container = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^/]+$/, { message: 'is not a valid container name' });

export const backupCreate = z
  .object({
    backup: z
      .object({
        name: z.string().min(1).max(80),
        instance: uuid.optional(),
        description: z.string().max(512).nullable().optional(),
        parent_id: uuid.nullable().optional(),
        incremental: z.union([z.literal(0), z.literal(1), z.boolean()]).optional(),
        swift_container: container.nullable().optional(),
        storage_driver: z.string().min(1).max(32).nullable().optional(),
        restore_from: z.object({}).passthrough().optional(),
      })
      .strict(),
  })
  .strict();

export type BackupCreateBody = z.output<typeof backupCreate>['backup'];

export const strategyCreate = z
  .object({
    backup_strategy: z
      .object({
        instance_id: uuid.optional(),
        swift_container: container,
      })
      .strict(),
  })
  .strict();

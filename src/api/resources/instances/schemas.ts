// Request bodies of /instances (Trove's apischema for instance create/update/action).
import { z } from 'zod';

const uuid = z.string().regex(/^[0-9a-fA-F-]{32,36}$/, { message: 'is not a valid UUID' });
const ref = z.union([z.string().min(1).max(255), z.number().int()]).transform((v) => {
  const s = String(v);
  return s.includes('/') ? s.slice(s.lastIndexOf('/') + 1) : s;
});
const volumeSize = z.union([
  z.number().int().min(1, { message: 'is less than the minimum of 1' }),
  z
    .string()
    .regex(/^[0-9]+$/, { message: 'is not a valid volume size' })
    .transform(Number)
    .pipe(z.number().int().min(1, { message: 'is less than the minimum of 1' })),
]);
const cidr = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/, { message: 'is not a valid IPv4 address or CIDR' });

export const databaseSpec = z
  .object({
    name: z.string().min(1).max(64),
    character_set: z.string().max(64).optional(),
    collate: z.string().max(64).optional(),
  })
  .strict();

export const userSpec = z
  .object({
    name: z.string().min(1).max(80),
    password: z.string().min(1).max(255),
    host: z.string().min(1).max(255).optional(),
    databases: z.array(z.object({ name: z.string().min(1).max(64) }).strict()).optional(),
  })
  .strict();

export const accessSpec = z
  .object({
    is_public: z.boolean().optional(),
    allowed_cidrs: z.array(cidr).optional(),
  })
  .strict();

export const instanceCreate = z.object({
  instance: z
    .object({
      name: z.string().min(1).max(255),
      flavorRef: ref.optional(),
      volume: z
        .object({ size: volumeSize, type: z.string().min(1).max(255).nullable().optional() })
        .strict()
        .optional(),
      datastore: z
        .object({
          type: z.string().min(1).max(255).optional(),
          version: z.string().min(1).max(255).optional(),
          version_number: z.string().min(1).max(255).optional(),
        })
        .strict()
        .optional(),
      databases: z.array(databaseSpec).optional(),
      users: z.array(userSpec).optional(),
      restorePoint: z.object({ backupRef: uuid }).strict().optional(),
      availability_zone: z.string().min(1).max(255).optional(),
      nics: z
        .array(
          z
            .object({
              'net-id': z.string().optional(),
              network_id: z.string().optional(),
              subnet_id: z.string().optional(),
              ip_address: z.string().optional(),
              'v4-fixed-ip': z.string().optional(),
            })
            .strict(),
        )
        .max(1, { message: 'has more than 1 item' })
        .optional(),
      replica_of: uuid.optional(),
      replica_count: z.number().int().min(1).max(3).optional(),
      configuration: uuid.optional(),
      locality: z.enum(['affinity', 'soft-affinity', 'anti-affinity', 'soft-anti-affinity']).optional(),
      modules: z.array(z.object({ id: z.string().min(1) }).strict()).optional(),
      region_name: z.string().min(1).max(255).optional(),
      access: accessSpec.optional(),
    })
    .strict(),
});

export type InstanceCreateBody = z.output<typeof instanceCreate>['instance'];

export const instanceUpdate = z.object({
  instance: z
    .object({
      name: z.string().min(1).max(255).optional(),
      configuration: z.union([uuid, z.null()]).optional(),
      replica_of: z.null().optional(),
      slave_of: z.null().optional(),
      datastore_version: z.string().min(1).optional(),
      access: accessSpec.optional(),
    })
    .strict(),
});

export type InstanceUpdateBody = z.output<typeof instanceUpdate>['instance'];

export const instanceAction = z.union([
  z.object({ restart: z.object({}).strict() }).strict(),
  z
    .object({
      resize: z.union([z.object({ flavorRef: ref }).strict(), z.object({ volume: z.object({ size: volumeSize }).strict() }).strict()]),
    })
    .strict(),
  z.object({ reset_status: z.object({ force_delete: z.boolean().optional() }).strict() }).strict(),
  z.object({ promote_to_replica_source: z.object({}).strict() }).strict(),
  z.object({ eject_replica_source: z.object({}).strict() }).strict(),
  z.object({ stop: z.object({}).strict() }).strict(),
  z.object({ start: z.object({}).strict() }).strict(),
]);

export type InstanceActionBody = z.output<typeof instanceAction>;

/** POST /mgmt/instances/{id}/action: one action whose value is an object (python-troveclient sends `{}`, migrate a host). */
export const mgmtInstanceAction = z.union([
  ...(['stop', 'start', 'reboot', 'reset-task-status'] as const).map((a) => z.object({ [a]: z.object({}).strict() }).strict()),
  z.object({ migrate: z.object({ host: z.string().min(1).max(255).optional() }).strict() }).strict(),
  z.object({ rebuild: z.object({ image_ref: z.string().min(1).max(255) }).strict() }).strict(),
]);

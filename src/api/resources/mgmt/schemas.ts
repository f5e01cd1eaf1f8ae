// Request bodies of the management API (Trove's apischema mgmt_datastore_version and
// mgmt_configuration).
import { z } from 'zod';

const nonEmpty = z
  .string()
  .min(1)
  .max(255)
  .regex(/[0-9a-zA-Z]/, { message: 'does not match "^.*[0-9a-zA-Z]+.*$"' });
const uuid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, { message: 'is not a valid uuid' });
const unique = (xs: string[]) => new Set(xs).size === xs.length;
const packages = z.array(nonEmpty).refine(unique, { message: 'has non-unique elements' });
const imageTags = z
  .array(
    z
      .string()
      .min(1)
      .max(20)
      .regex(/[0-9a-zA-Z]/, { message: 'does not match "^.*[0-9a-zA-Z]+.*$"' }),
  )
  .max(5)
  .refine(unique, { message: 'has non-unique elements' });

/** POST /mgmt/datastore-versions */
export const versionCreate = z
  .object({
    version: z
      .object({
        name: nonEmpty,
        datastore_name: nonEmpty,
        datastore_manager: nonEmpty,
        packages: packages.optional(),
        image: uuid.optional(),
        image_tags: imageTags.optional(),
        registry_ext: nonEmpty.optional(),
        repl_strategy: nonEmpty.optional(),
        active: z.boolean(),
        default: z.boolean().optional(),
        version: nonEmpty.optional(),
      })
      .strict(),
  })
  .strict();

/** PATCH /mgmt/datastore-versions/{id}: the fields themselves, not wrapped. */
export const versionEdit = z
  .object({
    datastore_manager: nonEmpty.optional(),
    packages: packages.optional(),
    image: uuid.optional(),
    image_tags: imageTags.optional(),
    registry_ext: nonEmpty.optional(),
    repl_strategy: nonEmpty.optional(),
    active: z.boolean().optional(),
    default: z.boolean().optional(),
    name: nonEmpty.optional(),
  })
  .strict();

const size = z.union([
  z.number().int(),
  z
    .string()
    .max(40)
    .regex(/^-?[0-9]+$/, { message: 'is not an integer' }),
]);

/** POST / PUT /mgmt/datastores/versions/{id}/parameters[/{name}] */
export const parameterBody = z.object({
  'configuration-parameter': z.object({
    name: z
      .string()
      .min(1)
      .max(128)
      .regex(/[0-9a-zA-Z]/, { message: 'does not match "^.*[0-9a-zA-Z]+.*$"' }),
    restart_required: z.union([z.literal(0), z.literal(1), z.boolean()]),
    data_type: z.enum(['integer', 'string', 'boolean', 'float']),
    max_size: size.optional(),
    min_size: size.optional(),
  }),
});

/** Trove's mgmt upgrade body, {"upgrade": {instance_version, location, metadata}}: all optional in
 * trove-ts (no location: [DEFAULT] guest_agent_package_location, or the all-in-one's restart);
 * metadata.checksum is the package's sha256. */
export const agentUpgradeBody = z
  .object({
    upgrade: z
      .object({
        instance_version: z.string().max(255).optional(),
        location: z
          .string()
          .min(1)
          .max(2048)
          .regex(/^(https?|file):\/\/|^\//, { message: 'is not an http(s) URL or an absolute path' })
          .optional(),
        metadata: z
          .object({
            checksum: z
              .string()
              .regex(/^(sha256:)?[0-9a-fA-F]{64}$/, { message: 'is not a sha256 in hex' })
              .optional(),
          })
          .passthrough()
          .optional(),
      })
      .strict(),
  })
  .strict();

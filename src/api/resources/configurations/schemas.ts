// Request bodies of /configurations (Trove's apischema configuration create/update/edit; extra
// keys are ignored as Trove's schema allows them).
import { z } from 'zod';

const name = z.string().min(1, { message: 'is too short' }).max(64, { message: 'is too long' });
const description = z.string().max(256, { message: 'is too long' }).nullable();
const values = z.record(z.string(), z.unknown());

export const configurationCreate = z.object({
  configuration: z.object({
    name,
    values,
    description: description.optional(),
    datastore: z
      .object({
        type: z.string().min(1).max(255).optional(),
        version: z.string().min(1).max(255).optional(),
        version_number: z.string().min(1).max(255).optional(),
      })
      .optional(),
  }),
});

export type ConfigurationCreateBody = z.output<typeof configurationCreate>['configuration'];

/** PUT: replaces the values; name and description change when given. */
export const configurationUpdate = z.object({
  configuration: z.object({
    values: values.optional(),
    name: name.optional(),
    description: description.optional(),
  }),
});

/** PATCH: merges the values into the group's. */
export const configurationEdit = z.object({
  configuration: z.object({ values }),
});

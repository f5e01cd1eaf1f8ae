// PUT /mgmt/quotas/{project} body.
import { z } from 'zod';

export const quotaUpdateBody = z.object({
  quotas: z.record(z.string(), z.number().int().min(-1, { message: 'is less than the minimum of -1' })),
});

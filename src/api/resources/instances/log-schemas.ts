// The body of POST /instances/{id}/log (Trove's guest_log action schema): the log's name and the
// action flags, which clients send as 1/0 (python-troveclient), booleans or "true"/"false".
import { z } from 'zod';

const flag = z
  .union([z.boolean(), z.number().int(), z.enum(['true', 'false', 'True', 'False', '1', '0'])])
  .optional()
  .transform((v) => v === true || v === 1 || v === 'true' || v === 'True' || v === '1');

export const logAction = z.object({
  name: z.string().min(1).max(64),
  enable: flag,
  disable: flag,
  publish: flag,
  discard: flag,
});

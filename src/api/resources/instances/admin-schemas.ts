// Request bodies of /instances/{id}/databases, /users and /root (Trove's apischema).
import { z } from 'zod';
import { databaseSpec, userSpec } from './schemas.js';

const dbRef = z.object({ name: z.string().min(1).max(64) }).strict();

export const databasesCreate = z.object({ databases: z.array(databaseSpec).min(1) }).strict();

export const usersCreate = z.object({ users: z.array(userSpec).min(1) }).strict();

export const userUpdate = z
  .object({
    user: z
      .object({
        name: z.string().min(1).max(80).optional(),
        password: z.string().min(1).max(255).optional(),
        host: z.string().min(1).max(255).optional(),
      })
      .strict()
      .refine((u) => Object.keys(u).length > 0, { message: 'needs at least one of name, password, host' }),
  })
  .strict();

export const passwordsUpdate = z
  .object({
    users: z
      .array(z.object({ name: z.string().min(1).max(80), password: z.string().min(1).max(255), host: z.string().min(1).max(255).optional() }).strict())
      .min(1),
  })
  .strict();

export const accessGrant = z.object({ databases: z.array(dbRef).min(1) }).strict();

/** POST /root: no body, `{}`, or `{"password": "..."}`. */
export const rootEnable = z
  .object({ password: z.string().min(1).max(255).optional() })
  .strict()
  .optional();

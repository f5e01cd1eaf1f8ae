// Runs a section's zod schema over raw INI strings; a bad value stops startup naming the key.
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { RawConfig } from './reader.js';

export const opt = {
  str: (def: string) => z.string().default(def),
  optStr: () =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v === '' ? undefined : v)),
  int: (def: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v.trim() === '') return def;
        const n = Number(v);
        if (!Number.isInteger(n)) {
          ctx.addIssue({ code: 'custom', message: `expected an integer, got "${v}"` });
          return z.NEVER;
        }
        if (n < min || n > max) {
          ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}, got ${n}` });
          return z.NEVER;
        }
        return n;
      }),
  bool: (def: boolean) =>
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined || v.trim() === '') return def;
        const s = v.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(s)) return true;
        if (['false', '0', 'no', 'off'].includes(s)) return false;
        ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
        return z.NEVER;
      }),
  list: (def: string[]) =>
    z
      .string()
      .optional()
      .transform((v) =>
        v === undefined
          ? def
          : v
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
      ),
};

export function configSection<S extends z.ZodObject>(raw: RawConfig, section: string, schema: S, origin = 'trove.conf'): z.output<S> {
  const values = raw[section] ?? {};
  // oslo semantics: DEFAULT values are visible in every section only for DEFAULT itself here;
  // sections read their own keys.
  const result = schema.safeParse(values);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.join('.') || '(section)';
    throw new ConfigError(`${origin} [${section}] ${key}: ${issue.message}`);
  }
  return result.data;
}

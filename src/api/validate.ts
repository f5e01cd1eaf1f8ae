// Runs a request body's zod schema and words failures as Trove's jsonschema messages:
// "Validation error: instance 'name' is a required property",
// "Validation error: instance['name'] 5 is not of type 'string'".
import type { z } from 'zod';
import { ValidationError } from '../common/errors.js';

function pathExpr(path: PropertyKey[]): string {
  const [head, ...rest] = path;
  return `${String(head ?? 'body')}${rest.map((p) => (typeof p === 'number' ? `[${p}]` : `['${String(p)}']`)).join('')}`;
}

function jsonType(expected: string): string {
  if (expected === 'number' || expected === 'int') return 'integer';
  if (expected === 'record' || expected === 'object') return 'object';
  return expected;
}

function describe(issue: z.core.$ZodIssue, body: unknown): string {
  const path = issue.path;
  const value = path.reduce<unknown>((acc, k) => (acc !== null && typeof acc === 'object' ? (acc as Record<PropertyKey, unknown>)[k] : undefined), body);
  if (issue.code === 'invalid_type' && value === undefined && path.length > 0) {
    const parent = path.slice(0, -1);
    return `${parent.length ? pathExpr(parent) : 'body'} '${String(path[path.length - 1])}' is a required property`;
  }
  if (issue.code === 'invalid_type') {
    return `${pathExpr(path)} ${JSON.stringify(value)} is not of type '${jsonType(String(issue.expected))}'`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `${path.length ? pathExpr(path) : 'body'} Additional properties are not allowed (${issue.keys
      .map((k) => `'${k}'`)
      .join(', ')} ${issue.keys.length > 1 ? 'were' : 'was'} unexpected)`;
  }
  return `${path.length ? pathExpr(path) : 'body'} ${JSON.stringify(value)} ${issue.message}`;
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw new ValidationError(describe(result.error.issues[0]!, body));
}

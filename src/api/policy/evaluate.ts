// Evaluates a parsed rule against the caller's credentials and the target, as oslo's _checks.py:
// a missing %(key)s in the target makes the check false; values compare as Python's str() would
// (true → "True"); a list along a credential path matches when any element does.
import type { Rule } from './parser.js';

export interface Scope {
  creds: Readonly<Record<string, unknown>>;
  target: Readonly<Record<string, unknown>>;
  /** The rule a `rule:NAME` check names, with oslo's fallback to `default`; undefined = none. */
  resolve(name: string): Rule | undefined;
}

/** Python's str() for the JSON-like values credentials and targets hold. */
export function pyStr(value: unknown): string {
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** `template % target`: undefined when a named key is missing from the target. */
export function substitute(template: string, target: Readonly<Record<string, unknown>>): string | undefined {
  let missing = false;
  const out = template.replace(/%\(([^)]*)\)s|%%/g, (all, key: string | undefined) => {
    if (key === undefined) return '%';
    if (!Object.hasOwn(target, key)) {
      missing = true;
      return '';
    }
    return pyStr(target[key]);
  });
  return missing ? undefined : out;
}

function findIn(value: unknown, path: readonly string[], match: string): boolean {
  if (path.length === 0) return match === pyStr(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const [key, ...rest] = path;
  if (!Object.hasOwn(value, key!)) return false;
  const next = (value as Record<string, unknown>)[key!];
  if (Array.isArray(next)) return next.some((v) => findIn(v, rest, match));
  return findIn(next, rest, match);
}

export function evaluate(rule: Rule, scope: Scope): boolean {
  switch (rule.kind) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'and':
      return rule.rules.every((r) => evaluate(r, scope));
    case 'or':
      return rule.rules.some((r) => evaluate(r, scope));
    case 'not':
      return !evaluate(rule.rule, scope);
    case 'rule': {
      const named = scope.resolve(rule.name);
      return named !== undefined && evaluate(named, scope);
    }
    case 'role': {
      const wanted = substitute(rule.match, scope.target)?.toLowerCase();
      const roles = scope.creds.roles;
      return wanted !== undefined && Array.isArray(roles) && roles.some((r) => String(r).toLowerCase() === wanted);
    }
    case 'literal':
      return substitute(rule.match, scope.target) === rule.value;
    case 'field': {
      const wanted = substitute(rule.match, scope.target);
      return wanted !== undefined && findIn(scope.creds, rule.path, wanted);
    }
  }
}

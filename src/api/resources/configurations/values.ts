// A configuration group's values checked against the datastore version's parameter rules
// (Trove's ConfigurationsController._validate_configuration), each refusal a 422 in Trove's words.
import { UnprocessableEntityError } from '../../../common/errors.js';
import type { ConfigParameterRow } from '../../../db/datastores.js';
import type { ConfigValue, ConfigValues } from '../../../db/configurations.js';

export interface VersionLabel {
  datastore: string;
  version: string;
}

/** The longest text configuration_parameters.configuration_value holds. */
const MAX_TEXT = 128;
const CONTROL = /[\u0000-\u001f\u007f]/;

function typeMatches(type: string, v: unknown): v is ConfigValue {
  switch (type) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'integer':
      // Python's bool is an int, so Trove takes true/false for an integer too
      return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'boolean';
    case 'float':
      // JSON cannot tell 1 from 1.0 here; any finite number is a float
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return false;
  }
}

function bound(s: string | null): number | undefined {
  if (s === null || s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Checks every value against its rule and returns them keyed by the rule's name (Trove matches
 * names case-insensitively). No rules at all, an unknown name, a wrong JSON type or a number
 * outside min/max → 422.
 */
export function checkValues(values: Record<string, unknown>, rules: ConfigParameterRow[], label: VersionLabel): ConfigValues {
  if (rules.length === 0) {
    throw new UnprocessableEntityError(`Configuration groups are not supported for this datastore: ${label.datastore} ${label.version}`);
  }
  const byName = new Map(rules.map((r) => [r.name.toLowerCase(), r]));
  const out: ConfigValues = {};
  for (const [key, v] of Object.entries(values)) {
    const rule = byName.get(key.toLowerCase());
    if (!rule) {
      throw new UnprocessableEntityError(`The configuration parameter ${key} is not supported for this datastore: ${label.datastore} ${label.version}.`);
    }
    if (!typeMatches(rule.data_type, v)) {
      throw new UnprocessableEntityError(`The value provided for the configuration parameter ${key} is not of type ${rule.data_type}.`);
    }
    if (typeof v === 'number' || (typeof v === 'boolean' && rule.data_type === 'integer')) {
      const n = Number(v);
      const min = bound(rule.min_size);
      const max = bound(rule.max_size);
      if (min !== undefined && n < min) {
        throw new UnprocessableEntityError(`The value for the configuration parameter ${key} is less than the minimum allowed: ${min}`);
      }
      if (max !== undefined && n > max) {
        throw new UnprocessableEntityError(`The value for the configuration parameter ${key} is greater than the maximum allowed: ${max}`);
      }
    }
    if (typeof v === 'string' && (CONTROL.test(v) || v.length > MAX_TEXT)) {
      throw new UnprocessableEntityError(
        `The value provided for the configuration parameter ${key} must be at most ${MAX_TEXT} characters without control characters.`,
      );
    }
    out[rule.name] = typeof v === 'boolean' && rule.data_type === 'integer' ? Number(v) : v;
  }
  return out;
}

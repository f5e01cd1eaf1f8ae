// Reads oslo-style INI files and TROVE__<SECTION>__<KEY> environment overrides into raw strings.
// This is the only module that reads process.env.
import { readFileSync } from 'node:fs';
import { parse } from 'ini';
import { ConfigError } from '../errors.js';

/** section name → key → raw string value. Section names keep their case; `DEFAULT` is the default section. */
export type RawConfig = Record<string, Record<string, string>>;

export interface ReadOptions {
  files?: string[];
  env?: NodeJS.ProcessEnv;
}

const ENV_PREFIX = 'TROVE__';

function flatten(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(',');
  return String(value);
}

export function parseIni(text: string, origin: string): RawConfig {
  let parsed: Record<string, unknown>;
  try {
    parsed = parse(text);
  } catch (err) {
    throw new ConfigError(`${origin}: cannot parse: ${(err as Error).message}`);
  }
  const out: RawConfig = { DEFAULT: {} };
  for (const [k, v] of Object.entries(parsed)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const section = (out[k] ??= {});
      for (const [sk, sv] of Object.entries(v as Record<string, unknown>)) {
        if (sv !== null && typeof sv === 'object' && !Array.isArray(sv)) {
          throw new ConfigError(`${origin}: [${k}] ${sk}: nested sections are not supported`);
        }
        section[sk] = flatten(sv);
      }
    } else {
      out.DEFAULT![k] = flatten(v);
    }
  }
  return out;
}

function merge(into: RawConfig, from: RawConfig): void {
  for (const [section, values] of Object.entries(from)) {
    Object.assign((into[section] ??= {}), values);
  }
}

/** Later files win over earlier ones, the environment wins over files (as oslo.config). */
export function readRawConfig(options: ReadOptions = {}): RawConfig {
  const raw: RawConfig = { DEFAULT: {} };
  for (const file of options.files ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    merge(raw, parseIni(text, file));
  }
  const env = options.env ?? process.env;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const [section, key] = name.slice(ENV_PREFIX.length).split('__');
    if (!section || !key) continue;
    const sectionName = section.toUpperCase() === 'DEFAULT' ? 'DEFAULT' : section.toLowerCase();
    (raw[sectionName] ??= {})[key.toLowerCase()] = value;
  }
  return raw;
}

/** The process environment, for the few callers that must hand it on (e.g. to a child process). */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}

// The lab's settings from tools/lab/lab.env (`: "${VAR:=value}"` lines), environment first.
import { readFileSync } from 'node:fs';
import { processEnv } from '../../src/common/config/reader.js';

export function labEnv(): Record<string, string> {
  const text = readFileSync(new URL('./lab.env', import.meta.url), 'utf8');
  const env = processEnv();
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^:\s+"\$\{(\w+):=([^}]*)\}"/gm)) {
    out[m[1]!] = env[m[1]!] ?? m[2]!;
  }
  return out;
}

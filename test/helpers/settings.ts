// Test-tier settings from the environment (the tests' equivalent of the config reader).
import { processEnv } from '../../src/common/config/reader.js';

export function testSetting(name: string, fallback: string): string {
  const v = processEnv()[name];
  return v === undefined || v === '' ? fallback : v;
}

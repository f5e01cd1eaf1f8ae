// Reads a service's configuration: --config-file files, then TROVE__SECTION__KEY overrides.
// A bad value stops the process with the key named and exit code 1.
import { ConfigError } from '../errors.js';
import { readRawConfig, type RawConfig } from './reader.js';
import { parseServiceArgs } from './service-args.js';

export function loadServiceConfig(name: string): RawConfig {
  const args = parseServiceArgs(name);
  return readRawConfig({ files: args.configFiles });
}

/** Runs a service's main; a ConfigError is printed as one line and exits 1. */
export async function runService(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`${name}: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}

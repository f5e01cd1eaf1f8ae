// trove-manage: Trove's operator commands, names and positional argument order kept.
// Exit codes: 0 ok, 2 bad arguments or a named thing that does not exist, 1 anything else.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../../src/common/errors.js';
import { UsageError, type GlobalOptions } from './context.js';
import * as dbSync from './commands/db-sync.js';
import * as datastore from './commands/datastore.js';
import * as parameters from './commands/parameters.js';
import * as versionMetadata from './commands/version-metadata.js';
import * as guestImage from './commands/guest-image.js';

const program = new Command('trove-manage')
  .description('trove-ts operator tool (Trove-compatible commands)')
  .option('--config-file <path>', 'configuration file (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--skip-image-check', 'do not check that a Glance image exists')
  .enablePositionalOptions(false)
  .allowExcessArguments(false)
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

const globals = () => program.opts<GlobalOptions>();
for (const m of [dbSync, datastore, parameters, versionMetadata, guestImage]) m.register(program, globals);
for (const c of program.commands) c.allowExcessArguments(false).exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`trove-manage: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`trove-manage: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`trove-manage: ${(err as Error).message}\n`);
  process.exit(1);
}

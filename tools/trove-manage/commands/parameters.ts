// db_load_datastore_config_parameters / db_remove_datastore_config_parameters (Trove's
// validation-rules JSON format).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfigParameters, removeConfigParameters } from '../../../src/db/datastores.js';
import { UsageError, withContext, type GlobalOptions } from '../context.js';
import { loadVersionOrFail } from './datastore.js';

const rulesFile = z.object({
  'configuration-parameters': z.array(
    z.object({
      name: z.string().min(1).max(128),
      restart_required: z.boolean(),
      type: z.enum(['integer', 'string', 'boolean', 'float']),
      max: z.number().optional(),
      min: z.number().optional(),
    }),
  ),
});

export function readRules(file: string) {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`Cannot read the rules file ${file}: ${(err as Error).message}`);
  }
  const parsed = rulesFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`Invalid rules file ${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data['configuration-parameters'];
}

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('db_load_datastore_config_parameters')
    .description("load a datastore version's configuration parameter rules")
    .argument('<datastore>')
    .argument('<datastore_version_name>')
    .argument('<config_file_location>')
    .option('--version <number>', 'the version number, when the name is ambiguous')
    .action(async (datastore: string, versionName: string, file: string, opts: { version?: string }) => {
      const rules = readRules(file);
      await withContext(globals().configFile, async (ctx) => {
        const { versionId } = await loadVersionOrFail(ctx, datastore, versionName, opts.version);
        const n = await loadConfigParameters(ctx.db, versionId, rules);
        ctx.out(`Loaded ${n} configuration parameters for ${datastore} ${versionName}.`);
      });
    });
  program
    .command('db_remove_datastore_config_parameters')
    .description("remove a datastore version's configuration parameter rules")
    .argument('<datastore>')
    .argument('<datastore_version_name>')
    .option('--version <number>', 'the version number, when the name is ambiguous')
    .action(async (datastore: string, versionName: string, opts: { version?: string }) =>
      withContext(globals().configFile, async (ctx) => {
        const { versionId } = await loadVersionOrFail(ctx, datastore, versionName, opts.version);
        const n = await removeConfigParameters(ctx.db, versionId);
        ctx.out(`Removed ${n} configuration parameters of ${datastore} ${versionName}.`);
      }),
    );
}

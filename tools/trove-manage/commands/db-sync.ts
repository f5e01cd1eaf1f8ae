// db_sync / db_upgrade / db_recreate / db_downgrade.
import type { Command } from 'commander';
import { dropAllTables, syncSchema } from '../../../src/db/migrate.js';
import { UsageError, withContext, type GlobalOptions } from '../context.js';

export function register(program: Command, globals: () => GlobalOptions): void {
  const sync = (label: string) => async () =>
    withContext(globals().configFile, async (ctx) => {
      const { applied } = await syncSchema(ctx.db);
      ctx.out(applied.length ? `${label}: applied ${applied.join(', ')}` : `${label}: the schema is up to date.`);
    });
  program.command('db_sync').description('create or upgrade the schema').option('--repo_path <path>', 'ignored (Trove compatibility)').action(sync('db_sync'));
  program.command('db_upgrade').description('upgrade the schema').option('--version <v>', 'ignored: always the latest').action(sync('db_upgrade'));
  program
    .command('db_recreate')
    .description('drop every table of the control database, then create the schema')
    .option('--repo_path <path>', 'ignored (Trove compatibility)')
    .action(async () =>
      withContext(globals().configFile, async (ctx) => {
        ctx.out(`db_recreate: dropped ${await dropAllTables(ctx.db)} tables.`);
        const { applied } = await syncSchema(ctx.db);
        ctx.out(`db_recreate: applied ${applied.join(', ')}`);
      }),
    );
  program
    .command('db_downgrade')
    .description('not supported (as in Trove)')
    .argument('[version]')
    .action(() => {
      throw new UsageError('db_downgrade is not supported.');
    });
}

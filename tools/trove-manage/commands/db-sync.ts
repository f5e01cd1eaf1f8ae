// db_sync / db_upgrade / db_recreate / db_downgrade.
import type { Command } from 'commander';
import { syncSchema } from '../../../src/db/migrate.js';
import { isSqlite, listTables } from '../../../src/db/dialect.js';
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
        const tables = await listTables(ctx.db);
        const sqlite = isSqlite(ctx.db);
        await ctx.db.raw(sqlite ? 'PRAGMA foreign_keys = OFF' : 'SET FOREIGN_KEY_CHECKS = 0');
        for (const t of tables) await ctx.db.schema.dropTableIfExists(t);
        await ctx.db.raw(sqlite ? 'PRAGMA foreign_keys = ON' : 'SET FOREIGN_KEY_CHECKS = 1');
        ctx.out(`db_recreate: dropped ${tables.length} tables.`);
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

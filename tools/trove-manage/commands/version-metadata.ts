// datastore_version_flavor_add/_delete and datastore_version_volume_type_add/_delete/_list.
import type { Command } from 'commander';
import { addVersionMetadata, deleteVersionMetadata, versionMetadata } from '../../../src/db/datastores.js';
import { UsageError, withContext, type GlobalOptions } from '../context.js';
import { loadVersionOrFail } from './datastore.js';

const csv = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function pair(program: Command, globals: () => GlobalOptions, noun: string, key: string, plural: string): void {
  program
    .command(`datastore_version_${noun}_add`)
    .description(`allow ${plural} for a datastore version`)
    .argument('<datastore_name>')
    .argument('<datastore_version_name>')
    .argument(`<${noun}_ids>`, 'comma-separated ids')
    .option('--version <number>', 'the version number, when the name is ambiguous')
    .action(async (ds: string, vname: string, ids: string, opts: { version?: string }) =>
      withContext(globals().configFile, async (ctx) => {
        const values = csv(ids);
        if (values.length === 0) throw new UsageError(`No ${noun} ids given.`);
        const { versionId } = await loadVersionOrFail(ctx, ds, vname, opts.version);
        await addVersionMetadata(ctx.db, versionId, key, values);
        ctx.out(`Added ${plural} ${values.join(', ')} to ${ds} ${vname}.`);
      }),
    );
  program
    .command(`datastore_version_${noun}_delete`)
    .description(`remove one allowed ${noun} from a datastore version`)
    .argument('<datastore_name>')
    .argument('<datastore_version_name>')
    .argument(`<${noun}_id>`)
    .option('--version <number>', 'the version number, when the name is ambiguous')
    .action(async (ds: string, vname: string, id: string, opts: { version?: string }) =>
      withContext(globals().configFile, async (ctx) => {
        const { versionId } = await loadVersionOrFail(ctx, ds, vname, opts.version);
        if (!(await deleteVersionMetadata(ctx.db, versionId, key, id))) {
          throw new UsageError(`${noun} ${id} is not associated with ${ds} ${vname}.`);
        }
        ctx.out(`Deleted ${noun} ${id} from ${ds} ${vname}.`);
      }),
    );
}

export function register(program: Command, globals: () => GlobalOptions): void {
  pair(program, globals, 'flavor', 'flavor', 'flavors');
  pair(program, globals, 'volume_type', 'volume_type', 'volume types');
  program
    .command('datastore_version_volume_type_list')
    .description('list the volume types allowed for a datastore version')
    .argument('<datastore_name>')
    .argument('<datastore_version_name>')
    .option('--version <number>', 'the version number, when the name is ambiguous')
    .action(async (ds: string, vname: string, opts: { version?: string }) =>
      withContext(globals().configFile, async (ctx) => {
        const { versionId } = await loadVersionOrFail(ctx, ds, vname, opts.version);
        const types = await versionMetadata(ctx.db, versionId, 'volume_type');
        ctx.out(types.length ? types.join('\n') : `No volume types are associated with ${ds} ${vname}.`);
      }),
    );
}

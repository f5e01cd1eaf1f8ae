// datastore_update and datastore_version_update.
import type { Command } from 'commander';
import { findDatastore, findVersion, findVersionByNumber, setDefaultVersion, upsertDatastore, upsertVersion } from '../../../src/db/datastores.js';
import type { Db } from '../../../src/db/connection.js';
import { UsageError, withContext, type GlobalOptions } from '../context.js';
import { checkImage } from '../image-check.js';

const csv = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('datastore_update')
    .description("create or update a datastore and set its default version ('' for none)")
    .argument('<datastore_name>')
    .argument('<default_version>')
    .action(async (name: string, defaultVersion: string) =>
      withContext(globals().configFile, async (ctx) => {
        const ds = await upsertDatastore(ctx.db, name);
        if (defaultVersion === '') {
          await setDefaultVersion(ctx.db, ds.id, null);
        } else {
          const v = await findVersion(ctx.db, ds.id, defaultVersion);
          if (v === 'ambiguous') throw new UsageError(`Datastore version '${defaultVersion}' is ambiguous for datastore '${name}'.`);
          if (!v) throw new UsageError(`Datastore version '${defaultVersion}' cannot be found.`);
          if (!v.active) throw new UsageError(`Datastore version '${defaultVersion}' is not active.`);
          await setDefaultVersion(ctx.db, ds.id, v.id);
        }
        ctx.out(`Datastore '${name}' updated.`);
      }),
    );

  program
    .command('datastore_version_update')
    .description('create or update a datastore version')
    .argument('<datastore>')
    .argument('<version_name>')
    .argument('<manager>')
    .argument('<image_id>', "Glance image id ('' to pick the image by --image-tags)")
    .argument('<packages>', 'comma-separated packages')
    .argument('<active>', '1 or 0')
    .option('--image-tags <tags>', 'comma-separated Glance image tags')
    .option('--version <number>', 'the version number (default: version_name)')
    .option('--registry-ext <ext>', 'the guest manager class (kept for compatibility)')
    .option('--repl-strategy <strategy>', 'the replication strategy (kept for compatibility)')
    .action(async (datastore: string, versionName: string, manager: string, imageId: string, packages: string, active: string, opts) =>
      withContext(globals().configFile, async (ctx) => {
        if (active !== '0' && active !== '1') throw new UsageError(`active must be 0 or 1, got '${active}'.`);
        const tags = csv(opts.imageTags);
        if (!imageId && tags.length === 0) throw new UsageError('An image id or --image-tags is required.');
        if (!manager) throw new UsageError('The manager must not be empty.');
        if (imageId && !globals().skipImageCheck) await checkImage(ctx.raw, imageId);
        const { created } = await upsertVersion(ctx.db, {
          datastore,
          name: versionName,
          manager,
          imageId: imageId || null,
          imageTags: tags,
          packages: csv(packages),
          active: active === '1',
          version: opts.version,
          registryExt: opts.registryExt,
          replStrategy: opts.replStrategy,
        });
        ctx.out(`Datastore version '${versionName}' ${created ? 'created' : 'updated'}.`);
      }),
    );
}

/** A version by datastore and name, or by (name, version number) when the name alone is ambiguous. */
export async function loadVersionOrFail(ctx: { db: Db }, datastore: string, versionName: string, versionNumber?: string) {
  const ds = await findDatastore(ctx.db, datastore);
  if (!ds) throw new UsageError(`Datastore '${datastore}' cannot be found.`);
  if (versionNumber) {
    const v = await findVersionByNumber(ctx.db, ds.id, versionName, versionNumber);
    if (!v) throw new UsageError(`Datastore version '${versionName}' (${versionNumber}) cannot be found.`);
    return { datastore: ds, versionId: v.id };
  }
  const v = await findVersion(ctx.db, ds.id, versionName);
  if (v === 'ambiguous') throw new UsageError(`Datastore version '${versionName}' is ambiguous: give --version.`);
  if (!v) throw new UsageError(`Datastore version '${versionName}' cannot be found.`);
  return { datastore: ds, versionId: v.id };
}

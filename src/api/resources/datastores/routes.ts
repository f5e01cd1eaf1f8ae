// /datastores: list, show, delete (admin), versions, their parameters, flavors and volume types.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, NotFoundError } from '../../../common/errors.js';
import { deleteDatastore, listConfigParameters, listDatastores, listVersions, versionMetadata, type DatastoreVersionRow } from '../../../db/datastores.js';
import { linkBase, param, requestContext, tokenInfo, type ApiDeps } from '../../deps.js';
import { flavorView } from '../flavors/views.js';
import { datastoreView, parameterView, versionView } from './views.js';
import { loadDatastore, loadVersion, loadVersionById } from './lookup.js';

function visible(versions: DatastoreVersionRow[], isAdmin: boolean): DatastoreVersionRow[] {
  return isAdmin ? versions : versions.filter((v) => v.active);
}

export function datastoreRoutes(deps: ApiDeps): Router {
  const { db } = deps;
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);
  const isAdmin = (ctx: Context) => requestContext(ctx).isAdmin;

  async function versionFromPath(ctx: Context): Promise<DatastoreVersionRow> {
    if (ctx.params.datastore === undefined) return loadVersionById(db, param(ctx, 'version'));
    const ds = await loadDatastore(db, param(ctx, 'datastore'));
    return loadVersion(db, ds, param(ctx, 'version'));
  }

  async function parameters(ctx: Context, admin = false) {
    authorize(ctx, 'configuration-parameter:index');
    const v = await versionFromPath(ctx);
    ctx.body = { 'configuration-parameters': (await listConfigParameters(db, v.id)).map((p) => parameterView(p, admin)) };
  }

  async function parameter(ctx: Context) {
    authorize(ctx, 'configuration-parameter:show');
    const v = await versionFromPath(ctx);
    const p = (await listConfigParameters(db, v.id)).find((x) => x.name === param(ctx, 'name'));
    if (!p) throw new NotFoundError(`No configuration parameter found by name ${param(ctx, 'name')}.`);
    ctx.body = parameterView(p);
  }

  async function flavors(ctx: Context) {
    authorize(ctx, 'datastore:list_associated_flavors');
    const v = await versionFromPath(ctx);
    const allowed = await versionMetadata(db, v.id, 'flavor');
    const all = await deps.userClients(requestContext(ctx), tokenInfo(ctx)).compute.listFlavors();
    const list = allowed.length ? all.filter((f) => allowed.includes(f.id)) : all;
    ctx.body = { flavors: list.map((f) => flavorView(linkBase(ctx, deps), f, deps.config.trove_volume_support)) };
  }

  async function volumeTypes(ctx: Context) {
    authorize(ctx, 'datastore:list_associated_volume_types');
    const v = await versionFromPath(ctx);
    const allowed = await versionMetadata(db, v.id, 'volume_type');
    const all = await deps.userClients(requestContext(ctx), tokenInfo(ctx)).blockStorage.listVolumeTypes();
    const list = allowed.length ? all.filter((t) => allowed.includes(t.id) || allowed.includes(t.name)) : all;
    ctx.body = { volume_types: list.map((t) => ({ id: t.id, name: t.name, is_public: t.is_public, description: t.description })) };
  }

  router.get('/datastores', async (ctx) => {
    authorize(ctx, 'datastore:index');
    const admin = isAdmin(ctx);
    const versions = await listVersions(db);
    const out = [];
    for (const ds of await listDatastores(db)) {
      const mine = visible(
        versions.filter((v) => v.datastore_id === ds.id),
        admin,
      );
      if (!admin && mine.length === 0) continue;
      out.push(datastoreView(linkBase(ctx, deps), ds, mine, admin));
    }
    ctx.body = { datastores: out };
  });

  // /datastores/versions/{uuid}... before /datastores/{ds}... so "versions" is never taken for a name.
  router.get('/datastores/versions/:version', async (ctx) => {
    authorize(ctx, 'datastore:version:show_by_uuid');
    const v = await loadVersionById(db, param(ctx, 'version'));
    ctx.body = { version: versionView(linkBase(ctx, deps), v, isAdmin(ctx)) };
  });
  router.get('/datastores/versions/:version/parameters', (ctx) => parameters(ctx));
  router.get('/datastores/versions/:version/parameters/:name', parameter);

  router.get('/datastores/:datastore', async (ctx) => {
    authorize(ctx, 'datastore:show');
    const ds = await loadDatastore(db, param(ctx, 'datastore'));
    const admin = isAdmin(ctx);
    const versions = visible(await listVersions(db, ds.id), admin);
    ctx.body = { datastore: datastoreView(linkBase(ctx, deps), ds, versions, admin) };
  });

  router.delete('/datastores/:datastore', async (ctx) => {
    authorize(ctx, 'datastore:delete');
    const ds = await loadDatastore(db, param(ctx, 'datastore'));
    if ((await listVersions(db, ds.id)).length > 0) {
      throw new BadRequestError(`Cannot delete datastore ${ds.name}: it still has datastore versions.`);
    }
    await deleteDatastore(db, ds.id);
    ctx.status = 202;
  });

  router.get('/datastores/:datastore/versions', async (ctx) => {
    authorize(ctx, 'datastore:version:index');
    const ds = await loadDatastore(db, param(ctx, 'datastore'));
    const admin = isAdmin(ctx);
    const versions = visible(await listVersions(db, ds.id), admin);
    ctx.body = { versions: versions.map((v) => versionView(linkBase(ctx, deps), v, admin)) };
  });

  router.get('/datastores/:datastore/versions/:version', async (ctx) => {
    authorize(ctx, 'datastore:version:show');
    const v = await versionFromPath(ctx);
    ctx.body = { version: versionView(linkBase(ctx, deps), v, isAdmin(ctx)) };
  });
  router.get('/datastores/:datastore/versions/:version/parameters', (ctx) => parameters(ctx));
  router.get('/datastores/:datastore/versions/:version/parameters/:name', parameter);
  router.get('/datastores/:datastore/versions/:version/flavors', flavors);
  router.get('/datastores/:datastore/versions/:version/volume-types', volumeTypes);

  return router;
}

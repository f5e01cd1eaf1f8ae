// /mgmt/datastore-versions: list, show, create (the datastore is created when missing), edit
// (PATCH, unwrapped body) and delete (refused while anything uses the version), as Trove's
// extensions/mgmt/datastores. Admin only. The same repository functions trove-manage uses.
// Unlike Trove, the image is not looked up in Glance here (the API holds no image client).
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError } from '../../../common/errors.js';
import {
  deleteVersion,
  findDatastore,
  listDatastores,
  listVersions,
  setDefaultVersion,
  updateVersion,
  upsertVersion,
  versionUsers,
  type DatastoreRow,
  type DatastoreVersionRow,
  type VersionFields,
} from '../../../db/datastores.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { parseBody } from '../../validate.js';
import { DatastoreVersionInactiveError, loadVersionById } from '../datastores/lookup.js';
import { versionCreate, versionEdit } from './schemas.js';
import { mgmtVersionView } from './views.js';

class DatastoreVersionAlreadyExistsError extends BadRequestError {
  constructor(name: string, version: string) {
    super(`The datastore version '${name}(${version})' already exists.`);
  }
}

const imageRequired = () => new BadRequestError('Image must be specified.');

export function mgmtDatastoreVersionRoutes(deps: ApiDeps): Router {
  const { db } = deps;
  const router = new Router();
  const authorize = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), `mgmt_datastore_version:${action}`);
  const datastoreOf = async (v: DatastoreVersionRow): Promise<DatastoreRow | undefined> => findDatastore(db, v.datastore_id);

  router.get('/mgmt/datastore-versions', async (ctx) => {
    authorize(ctx, 'index');
    const datastores = new Map((await listDatastores(db)).map((d) => [d.id, d]));
    ctx.body = { versions: (await listVersions(db)).map((v) => mgmtVersionView(v, datastores.get(v.datastore_id))) };
  });

  router.get('/mgmt/datastore-versions/:id', async (ctx) => {
    authorize(ctx, 'show');
    const v = await loadVersionById(db, param(ctx, 'id'));
    ctx.body = { version: mgmtVersionView(v, await datastoreOf(v)) };
  });

  router.post('/mgmt/datastore-versions', async (ctx) => {
    authorize(ctx, 'create');
    const body = parseBody(versionCreate, ctx.request.body).version;
    const tags = body.image_tags ?? [];
    if (!body.image && tags.length === 0) throw imageRequired();
    if (body.default && !body.active) throw new DatastoreVersionInactiveError(body.name);
    const versionNumber = body.version ?? body.name;
    const { version, created } = await upsertVersion(
      db,
      {
        datastore: body.datastore_name,
        name: body.name,
        manager: body.datastore_manager,
        imageId: body.image ?? null,
        imageTags: tags,
        packages: body.packages ?? [],
        active: body.active,
        version: versionNumber,
        registryExt: body.registry_ext,
        replStrategy: body.repl_strategy,
      },
      { createOnly: true },
    );
    if (!created) throw new DatastoreVersionAlreadyExistsError(body.name, versionNumber);
    if (body.default) await setDefaultVersion(db, version.datastore_id, version.id);
    ctx.status = 202;
  });

  router.patch('/mgmt/datastore-versions/:id', async (ctx) => {
    authorize(ctx, 'edit');
    const v = await loadVersionById(db, param(ctx, 'id'));
    // no body edits nothing; a JSON null is not an object (refused by the schema)
    const body = parseBody(versionEdit, ctx.request.body === undefined ? {} : ctx.request.body);
    // Trove: new tags without an image drop the image; unset fields keep their values.
    const imageId = body.image ?? (body.image_tags?.length ? '' : v.image_id);
    const imageTags = body.image_tags ?? (v.image_tags ? v.image_tags.split(',') : []);
    if (!imageId && imageTags.length === 0) throw imageRequired();
    const active = body.active ?? v.active;
    if (body.default && !active) throw new DatastoreVersionInactiveError(v.name);
    const fields: VersionFields = { image_id: imageId, image_tags: imageTags.join(','), active };
    if (body.name !== undefined) fields.name = body.name;
    if (body.datastore_manager !== undefined) fields.manager = body.datastore_manager;
    if (body.packages !== undefined) fields.packages = body.packages.join(',');
    if (body.registry_ext !== undefined) fields.registry_ext = body.registry_ext;
    if (body.repl_strategy !== undefined) fields.repl_strategy = body.repl_strategy;
    if ((await updateVersion(db, v.id, fields)) === 'duplicate') {
      throw new DatastoreVersionAlreadyExistsError(body.name!, v.version ?? v.name);
    }
    const ds = await datastoreOf(v);
    if (body.default) await setDefaultVersion(db, v.datastore_id, v.id);
    else if (body.default === false && ds?.default_version_id === v.id) await setDefaultVersion(db, v.datastore_id, null);
    ctx.status = 202;
  });

  router.delete('/mgmt/datastore-versions/:id', async (ctx) => {
    authorize(ctx, 'delete');
    const v = await loadVersionById(db, param(ctx, 'id'));
    const users = await versionUsers(db, v.id);
    if (users.live) throw new BadRequestError(`Datastore version is in use by ${users.live}.`);
    if (users.deleted) {
      throw new BadRequestError(`Datastore version is still referenced by the records of a deleted ${users.deleted}.`);
    }
    await deleteVersion(db, v.id);
    ctx.status = 202;
  });

  return router;
}

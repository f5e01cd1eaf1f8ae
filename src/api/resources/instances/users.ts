// /instances/{id}/users: create, list (paged by name@host), show, update, delete, and a user's
// database access (list, grant, revoke) — done by the guest on the engine.
import { authorizeAction } from '../../authorizer.js';
import Router from '@koa/router';
import type { Context } from 'koa';
import { BadRequestError, NotFoundError } from '../../../common/errors.js';
import type { WireUser } from '../../../rpc/contracts/common.js';
import { param, requestContext, type ApiDeps } from '../../deps.js';
import { nextLink, pageParams } from '../../pagination.js';
import { parseBody } from '../../validate.js';
import { accessGrant, passwordsUpdate, userUpdate, usersCreate } from './admin-schemas.js';
import { databaseExists } from './databases.js';
import { checkDatabaseName, checkHost, checkPassword, checkUserName, guestTarget, parseUserId, type GuestTarget } from './guest-access.js';

const userView = (u: WireUser) => ({ name: u._name, host: u._host ?? '%', databases: u._databases.map((d) => ({ name: d._name })) });

async function existingUser(t: GuestTarget, name: string, host: string): Promise<WireUser> {
  const u = await t.guest.get_user({ username: name, hostname: host }, t.quick);
  if (!u) throw new NotFoundError(`User ${name}@${host} was not found on instance ${t.row.id}.`);
  return u;
}

async function assertDatabasesExist(t: GuestTarget, names: string[]): Promise<void> {
  for (const d of names) {
    checkDatabaseName(d, t.names);
    if (!(await databaseExists(t, d))) throw new NotFoundError(`Database ${d} was not found on instance ${t.row.id}.`);
  }
}

export function userRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const can = (ctx: Context, action: string) => authorizeAction(ctx, deps.authorizer, requestContext(ctx), action);
  const target = (ctx: Context) => guestTarget(ctx, deps, param(ctx, 'id'));
  const userId = (ctx: Context, t: GuestTarget) => {
    const { name, host } = parseUserId(param(ctx, 'user'));
    checkUserName(name, t.names);
    checkHost(host);
    return { name, host };
  };

  router.get('/instances/:id/users', async (ctx) => {
    can(ctx, 'instance:extension:user:index');
    const { limit, marker } = pageParams(ctx, deps.config.paginate_max_limit);
    const t = await target(ctx);
    const [items, next] = await t.guest.list_users({ limit, marker: marker ?? null, include_marker: false }, t.quick);
    ctx.body = { users: items.map(userView), ...(next ? { links: [nextLink(ctx, deps, next)] } : {}) };
  });

  router.post('/instances/:id/users', async (ctx) => {
    can(ctx, 'instance:extension:user:create');
    const body = parseBody(usersCreate, ctx.request.body);
    const t = await target(ctx);
    const seen = new Set<string>();
    for (const u of body.users) {
      const host = u.host ?? '%';
      checkUserName(u.name, t.names);
      checkHost(host);
      checkPassword(u.password);
      if (seen.has(`${u.name}@${host}`)) throw new BadRequestError(`User '${u.name}'@'${host}' is named twice in the request.`);
      seen.add(`${u.name}@${host}`);
    }
    for (const u of body.users) {
      const host = u.host ?? '%';
      if (await t.guest.get_user({ username: u.name, hostname: host }, t.quick)) {
        throw new BadRequestError(`A user with the name '${u.name}' and host '${host}' already exists.`);
      }
      await assertDatabasesExist(
        t,
        (u.databases ?? []).map((d) => d.name),
      );
    }
    await t.guest.create_user(
      {
        users: body.users.map((u) => ({
          _name: u.name,
          _host: u.host ?? '%',
          _password: u.password,
          _databases: (u.databases ?? []).map((d) => ({ _name: d.name })),
        })),
      },
      t.quick,
    );
    ctx.status = 202;
  });

  // PUT /users: new passwords for several users
  router.put('/instances/:id/users', async (ctx) => {
    can(ctx, 'instance:extension:user:update_all');
    const body = parseBody(passwordsUpdate, ctx.request.body);
    const t = await target(ctx);
    for (const u of body.users) {
      checkUserName(u.name, t.names);
      checkHost(u.host ?? '%');
      checkPassword(u.password);
      await existingUser(t, u.name, u.host ?? '%');
    }
    await t.guest.change_passwords({ users: body.users.map((u) => ({ name: u.name, host: u.host ?? '%', password: u.password })) }, t.quick);
    ctx.status = 202;
  });

  router.get('/instances/:id/users/:user', async (ctx) => {
    can(ctx, 'instance:extension:user:show');
    const t = await target(ctx);
    const { name, host } = userId(ctx, t);
    ctx.body = { user: userView(await existingUser(t, name, host)) };
  });

  router.put('/instances/:id/users/:user', async (ctx) => {
    can(ctx, 'instance:extension:user:update');
    const attrs = parseBody(userUpdate, ctx.request.body).user;
    const t = await target(ctx);
    const { name, host } = userId(ctx, t);
    if (attrs.name !== undefined) checkUserName(attrs.name, t.names);
    if (attrs.host !== undefined) checkHost(attrs.host);
    if (attrs.password !== undefined) checkPassword(attrs.password);
    await existingUser(t, name, host);
    const newName = attrs.name ?? name;
    const newHost = attrs.host ?? host;
    if ((newName !== name || newHost !== host) && (await t.guest.get_user({ username: newName, hostname: newHost }, t.quick))) {
      throw new BadRequestError(`A user with the name '${newName}' and host '${newHost}' already exists.`);
    }
    await t.guest.update_attributes(
      { username: name, hostname: host, user_attrs: { name: attrs.name ?? null, host: attrs.host ?? null, password: attrs.password ?? null } },
      t.quick,
    );
    ctx.status = 202;
  });

  router.delete('/instances/:id/users/:user', async (ctx) => {
    can(ctx, 'instance:extension:user:delete');
    const t = await target(ctx);
    const { name, host } = userId(ctx, t);
    await existingUser(t, name, host);
    await t.guest.delete_user({ user: { _name: name, _host: host, _databases: [] } }, t.quick);
    ctx.status = 202;
  });

  router.get('/instances/:id/users/:user/databases', async (ctx) => {
    can(ctx, 'instance:extension:user_access:index');
    const t = await target(ctx);
    const { name, host } = userId(ctx, t);
    await existingUser(t, name, host);
    const dbs = await t.guest.list_access({ username: name, hostname: host }, t.quick);
    ctx.body = { databases: dbs.map((d) => ({ name: d._name })) };
  });

  router.put('/instances/:id/users/:user/databases', async (ctx) => {
    can(ctx, 'instance:extension:user_access:update');
    const body = parseBody(accessGrant, ctx.request.body);
    const t = await target(ctx);
    const { name, host } = userId(ctx, t);
    await existingUser(t, name, host);
    await assertDatabasesExist(
      t,
      body.databases.map((d) => d.name),
    );
    await t.guest.grant_access({ username: name, hostname: host, databases: body.databases.map((d) => d.name) }, t.quick);
    ctx.status = 202;
  });

  router.delete('/instances/:id/users/:user/databases/:database', async (ctx) => {
    can(ctx, 'instance:extension:user_access:delete');
    const t = await target(ctx);
    const { name, host } = userId(ctx, t);
    const database = param(ctx, 'database');
    checkDatabaseName(database, t.names);
    const granted = await t.guest.list_access({ username: (await existingUser(t, name, host))._name, hostname: host }, t.quick);
    if (!granted.some((d) => d._name === database)) throw new NotFoundError(`User ${name}@${host} has no access to database ${database}.`);
    await t.guest.revoke_access({ username: name, hostname: host, database }, t.quick);
    ctx.status = 202;
  });

  return router;
}

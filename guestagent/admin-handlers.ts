// The guest verbs for databases, users, access and root, mapped to the engine's capabilities; an
// engine without the capability answers NotSupportedError (rendered by the API as Trove's 501).
import type { Handlers } from '../src/rpc/contract.js';
import type { GuestContract } from '../src/rpc/contracts/guest.js';
import type { WireDatabase, WireUser } from '../src/rpc/contracts/common.js';
import { NotSupportedError, type DatabaseSpec, type Engine, type UserSpec } from './capabilities.js';

type AdminVerbs =
  | 'create_database'
  | 'list_databases'
  | 'delete_database'
  | 'create_user'
  | 'list_users'
  | 'get_user'
  | 'delete_user'
  | 'change_passwords'
  | 'update_attributes'
  | 'grant_access'
  | 'revoke_access'
  | 'list_access'
  | 'enable_root'
  | 'enable_root_with_password'
  | 'disable_root'
  | 'is_root_enabled';

/** Trove's wire database / user as the engine's spec (also used by prepare). */
export const toDb = (d: WireDatabase): DatabaseSpec => ({ name: d._name, characterSet: d._character_set ?? undefined, collate: d._collate ?? undefined });
const fromDb = (d: DatabaseSpec): WireDatabase => ({ _name: d.name, _character_set: d.characterSet ?? null, _collate: d.collate ?? null });
export const toUser = (u: WireUser): UserSpec => ({
  name: u._name,
  host: u._host ?? '%',
  password: u._password ?? undefined,
  databases: u._databases.map((d) => d._name),
});
const fromUser = (u: UserSpec): WireUser => ({ _name: u.name, _host: u.host, _password: null, _databases: u.databases.map((d) => ({ _name: d })) });

export function adminHandlers(engine: Engine): Pick<Handlers<GuestContract>, AdminVerbs> {
  const need = <T>(cap: T | undefined, what: string): T => {
    if (!cap) throw new NotSupportedError(`${what} are not supported for the '${engine.name}' datastore.`);
    return cap;
  };
  const dbs = () => need(engine.databases, 'Databases');
  const users = () => need(engine.users, 'Users');
  const root = () => need(engine.root, 'Root users');
  return {
    create_database: async (a) => {
      await dbs().createDatabases(a.databases.map(toDb));
      return null;
    },
    list_databases: async (a) => {
      const page = await dbs().listDatabases(a.limit ?? undefined, a.marker ?? undefined, a.include_marker);
      return [page.items.map(fromDb), page.nextMarker];
    },
    delete_database: async (a) => {
      await dbs().deleteDatabase(a.database._name);
      return null;
    },
    create_user: async (a) => {
      await users().createUsers(a.users.map(toUser));
      return null;
    },
    list_users: async (a) => {
      const page = await users().listUsers(a.limit ?? undefined, a.marker ?? undefined, a.include_marker);
      return [page.items.map(fromUser), page.nextMarker];
    },
    get_user: async (a) => {
      const u = await users().getUser(a.username, a.hostname ?? '%');
      return u ? fromUser(u) : null;
    },
    delete_user: async (a) => {
      await users().deleteUser(a.user._name, a.user._host ?? '%');
      return null;
    },
    change_passwords: async (a) => {
      await users().changePasswords(a.users.map((u) => ({ name: u.name, host: u.host ?? '%', password: u.password })));
      return null;
    },
    update_attributes: async (a) => {
      const u = users();
      const host = a.hostname ?? '%';
      if (a.user_attrs.password) await u.changePasswords([{ name: a.username, host, password: a.user_attrs.password }]);
      const newName = a.user_attrs.name ?? a.username;
      const newHost = a.user_attrs.host ?? host;
      if (newName !== a.username || newHost !== host) {
        if (!u.renameUser) throw new NotSupportedError(`Renaming a user is not supported for the '${engine.name}' datastore.`);
        await u.renameUser(a.username, host, newName, newHost);
      }
      return null;
    },
    grant_access: async (a) => {
      await users().grantAccess(a.username, a.hostname ?? '%', a.databases);
      return null;
    },
    revoke_access: async (a) => {
      await users().revokeAccess(a.username, a.hostname ?? '%', a.database);
      return null;
    },
    list_access: async (a) => (await users().listAccess(a.username, a.hostname ?? '%')).map(fromDb),
    enable_root: async () => {
      const r = await root().enableRoot();
      return { _name: r.name, _password: r.password, _host: '%', _databases: [] };
    },
    enable_root_with_password: async (a) => {
      const r = await root().enableRoot(a.root_password ?? undefined);
      return { _name: r.name, _password: r.password, _host: '%', _databases: [] };
    },
    disable_root: async () => {
      await root().disableRoot();
      return null;
    },
    is_root_enabled: async () => root().isRootEnabled(),
  };
}

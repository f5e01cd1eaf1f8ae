// The checks a Users capability runs on the users of a create call before it sends any statement
// (every name, host, password and database: one bad entry creates none), with the host rule the
// engines share. The name, password and database rules are each engine's own.
import { InvalidValueError, type UserSpec } from './capabilities.js';

/** An engine's own rules for a user name, a password and a database name: each throws InvalidValueError. */
export interface UserRules {
  checkUserName(name: string): void;
  checkPassword(password: string | undefined): void;
  checkDatabaseName(name: string): void;
}

/** A user's host: a name, an address, a netmask or a `%`/`_` pattern; nothing a statement could be built out of. */
export function checkHost(host: string): void {
  if (!/^[A-Za-z0-9%_.:\-/]{1,255}$/.test(host)) throw new InvalidValueError(`Host '${host}' is not a valid host.`);
}

/** Every user of a create call against the engine's rules and the host rule, before any of them is created. */
export function checkNewUsers(users: UserSpec[], rules: UserRules): void {
  for (const u of users) {
    rules.checkUserName(u.name);
    checkHost(u.host);
    rules.checkPassword(u.password);
    u.databases.forEach((d) => rules.checkDatabaseName(d));
  }
}

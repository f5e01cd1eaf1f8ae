// Databases, users, grants and root on a MySQL-family server, as the agent's own admin user over
// the unix socket. Identifiers go through ?? (escaped identifiers), values through ? (bound
// literals); names are checked against the engine's rules before any SQL is sent.
import mysql, { type Connection } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { InvalidValueError, type DatabaseSpec, type Databases, type Page, type Root, type UserSpec, type Users } from '../../capabilities.js';
import { checkHost, checkNewUsers } from '../../users-check.js';

export const SYSTEM_DATABASES = ['mysql', 'information_schema', 'performance_schema', 'sys', 'lost+found', '#mysql50#lost+found'];
export const RESERVED_USERS = ['root', 'os_admin', 'debian-sys-maint', 'mariadb.sys', 'mysql.sys', 'mysql.session', 'mysql.infoschema', 'PUBLIC'];
/** A source's accounts for its replicas (replication.ts, `repl_` + 8 hex): the agent's, so hidden from the user verbs and reserved. */
export const REPLICATION_USER_PATTERN = '^repl_[0-9a-f]{8}$';
const isReplicationUser = (name: string) => new RegExp(REPLICATION_USER_PATTERN, 'i').test(name);

export interface AdminOptions {
  socket: string;
  adminUser: string;
  adminPassword: () => string;
  maxUserNameLength: number;
}

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * A database name as a GRANT/REVOKE target: in `ON db.*` the server reads `_` and `%` as
 * wildcards, so a grant on `mysq_` would be one on `mysql` (hence superuser). Escaped, the grant
 * names that database alone.
 */
export function grantPattern(database: string): string {
  return database.replace(/[\\_%]/g, (c) => `\\${c}`);
}

/** The database a mysql.db row names (its Db column holds the escaped pattern). */
export function fromGrantPattern(db: string): string {
  return db.replace(/\\([\\_%])/g, '$1');
}

export class MysqlAdmin implements Databases, Users, Root {
  constructor(private readonly o: AdminOptions) {}

  /** The agent's own connection; its statements (passwords in CREATE USER among them) stay out of the general log. */
  async connect(): Promise<Connection> {
    const c = await mysql.createConnection({ socketPath: this.o.socket, user: this.o.adminUser, password: this.o.adminPassword(), multipleStatements: false });
    await c.query('SET SESSION sql_log_off = 1');
    return c;
  }

  private async run<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    const c = await this.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  // ---- validation ----
  checkDatabaseName(name: string): void {
    if (!name || name.length > 64) throw new InvalidValueError(`Database name '${name}' must be 1 to 64 characters.`);
    if (/[\x00-\x1f/\\.]|\s$/.test(name)) throw new InvalidValueError(`Database name '${name}' contains characters that are not allowed.`);
    if (SYSTEM_DATABASES.includes(name.toLowerCase())) throw new InvalidValueError(`Database name '${name}' is reserved.`);
  }

  checkUserName(name: string): void {
    const max = this.o.maxUserNameLength;
    if (!name || name.length > max) throw new InvalidValueError(`User name '${name}' must be 1 to ${max} characters.`);
    if (/[\x00-\x1f]|^\s|\s$/.test(name)) throw new InvalidValueError(`User name '${name}' contains characters that are not allowed.`);
    if (RESERVED_USERS.map((u) => u.toLowerCase()).includes(name.toLowerCase()) || isReplicationUser(name))
      throw new InvalidValueError(`User name '${name}' is reserved.`);
  }

  checkPassword(password: string | undefined): void {
    if (password === undefined) return;
    if (password.length === 0 || password.length > 255) throw new InvalidValueError('A password must be 1 to 255 characters.');
  }

  // ---- databases ----
  async createDatabases(dbs: DatabaseSpec[]): Promise<void> {
    dbs.forEach((d) => this.checkDatabaseName(d.name));
    await this.run(async (c) => {
      for (const d of dbs) {
        const cs = d.characterSet ?? 'utf8mb4';
        const coll = d.collate ?? (cs === 'utf8mb4' ? 'utf8mb4_general_ci' : undefined);
        if (!/^\w+$/.test(cs) || (coll && !/^\w+$/.test(coll))) throw new InvalidValueError(`Invalid character set or collation for '${d.name}'.`);
        await c.query(`CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET ${cs}${coll ? ` COLLATE ${coll}` : ''}`, [d.name]);
      }
    });
  }

  async listDatabases(limit = 1000, marker?: string, includeMarker = false): Promise<Page<DatabaseSpec>> {
    return this.run(async (c) => {
      const [rows] = await c.query(
        `SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS coll FROM information_schema.SCHEMATA
         WHERE SCHEMA_NAME NOT IN (?) ${marker ? `AND SCHEMA_NAME ${includeMarker ? '>=' : '>'} ?` : ''} ORDER BY SCHEMA_NAME LIMIT ?`,
        marker ? [SYSTEM_DATABASES, marker, limit + 1] : [SYSTEM_DATABASES, limit + 1],
      );
      const list = (rows as Array<{ name: string; cs: string; coll: string }>).map((r) => ({ name: r.name, characterSet: r.cs, collate: r.coll }));
      const items = list.slice(0, limit);
      return { items, nextMarker: list.length > limit ? items[items.length - 1]!.name : null };
    });
  }

  async deleteDatabase(name: string): Promise<void> {
    this.checkDatabaseName(name);
    await this.run((c) => c.query('DROP DATABASE IF EXISTS ??', [name]));
  }

  // ---- users ----
  async createUsers(users: UserSpec[]): Promise<void> {
    checkNewUsers(users, this);
    await this.run(async (c) => {
      for (const u of users) {
        await c.query('CREATE USER ?@? IDENTIFIED BY ?', [u.name, u.host, u.password ?? generatePassword()]);
        for (const d of u.databases) await c.query('GRANT ALL PRIVILEGES ON ??.* TO ?@?', [grantPattern(d), u.name, u.host]);
      }
    });
  }

  private async grantsOf(c: Connection, name: string, host: string): Promise<string[]> {
    const [rows] = await c.query('SELECT Db AS db FROM mysql.db WHERE User = ? AND Host = ? ORDER BY Db', [name, host]);
    return (rows as Array<{ db: string }>).map((r) => fromGrantPattern(r.db)).filter((d) => !SYSTEM_DATABASES.includes(d));
  }

  async listUsers(limit = 1000, marker?: string, includeMarker = false): Promise<Page<UserSpec>> {
    return this.run(async (c) => {
      const [rows] = await c.query(
        `SELECT User AS name, Host AS host FROM mysql.user WHERE User <> '' AND User NOT IN (?) AND User NOT REGEXP ? AND CONCAT(User, '@', Host) ${includeMarker ? '>=' : '>'} ? ORDER BY User, Host LIMIT ?`,
        [RESERVED_USERS, REPLICATION_USER_PATTERN, marker ?? '', limit + 1],
      );
      const list = rows as Array<{ name: string; host: string }>;
      const items: UserSpec[] = [];
      for (const r of list.slice(0, limit)) items.push({ name: r.name, host: r.host, databases: await this.grantsOf(c, r.name, r.host) });
      const last = items[items.length - 1];
      return { items, nextMarker: list.length > limit && last ? `${last.name}@${last.host}` : null };
    });
  }

  async getUser(name: string, host: string): Promise<UserSpec | null> {
    return this.run(async (c) => {
      const [rows] = await c.query('SELECT User FROM mysql.user WHERE User = ? AND Host = ?', [name, host]);
      if ((rows as unknown[]).length === 0 || RESERVED_USERS.includes(name) || isReplicationUser(name)) return null;
      return { name, host, databases: await this.grantsOf(c, name, host) };
    });
  }

  async deleteUser(name: string, host: string): Promise<void> {
    this.checkUserName(name);
    await this.run((c) => c.query('DROP USER IF EXISTS ?@?', [name, host]));
  }

  async changePasswords(users: Array<{ name: string; host: string; password: string }>): Promise<void> {
    users.forEach((u) => (this.checkUserName(u.name), this.checkPassword(u.password)));
    await this.run(async (c) => {
      for (const u of users) await c.query('ALTER USER ?@? IDENTIFIED BY ?', [u.name, u.host, u.password]);
    });
  }

  async renameUser(name: string, host: string, newName: string, newHost: string): Promise<void> {
    this.checkUserName(name);
    this.checkUserName(newName);
    checkHost(newHost);
    await this.run((c) => c.query('RENAME USER ?@? TO ?@?', [name, host, newName, newHost]));
  }

  async grantAccess(name: string, host: string, databases: string[]): Promise<void> {
    this.checkUserName(name);
    databases.forEach((d) => this.checkDatabaseName(d));
    await this.run(async (c) => {
      for (const d of databases) await c.query('GRANT ALL PRIVILEGES ON ??.* TO ?@?', [grantPattern(d), name, host]);
    });
  }

  async revokeAccess(name: string, host: string, database: string): Promise<void> {
    this.checkUserName(name);
    this.checkDatabaseName(database);
    await this.run((c) => c.query('REVOKE ALL PRIVILEGES ON ??.* FROM ?@?', [grantPattern(database), name, host]));
  }

  async listAccess(name: string, host: string): Promise<DatabaseSpec[]> {
    return this.run(async (c) => (await this.grantsOf(c, name, host)).map((d) => ({ name: d })));
  }

  // ---- root ----
  async enableRoot(password?: string): Promise<{ name: string; password: string }> {
    const pw = password ?? generatePassword();
    this.checkPassword(pw);
    await this.run(async (c) => {
      await c.query("CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY ?", [pw]);
      await c.query("ALTER USER 'root'@'%' IDENTIFIED BY ?", [pw]);
      await c.query("GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION");
    });
    return { name: 'root', password: pw };
  }

  async disableRoot(): Promise<void> {
    await this.run((c) => c.query("DROP USER IF EXISTS 'root'@'%'"));
  }

  async isRootEnabled(): Promise<boolean> {
    return this.run(async (c) => {
      const [rows] = await c.query("SELECT User FROM mysql.user WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1')");
      return (rows as unknown[]).length > 0;
    });
  }
}

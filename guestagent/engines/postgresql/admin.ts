// Databases, users, grants and root on a PostgreSQL server, as the agent's own admin role over the
// unix socket. Values go as bound parameters; where PostgreSQL takes none (CREATE DATABASE, CREATE
// ROLE, GRANT) identifiers go through escapeIdentifier and values through escapeLiteral, after the
// names have been checked against PostgreSQL's rules. A user's host is not part of a PostgreSQL
// role: it is accepted and reported as '%'.
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { InvalidValueError, type DatabaseSpec, type Databases, type Page, type Root, type UserSpec, type Users } from '../../capabilities.js';
import { checkNewUsers } from '../../users-check.js';
import { scramVerifier } from './scram.js';

const { escapeIdentifier: ident, escapeLiteral: lit } = pg;

export const ADMIN_ROLE = 'os_admin';
/**
 * The tenant's root (upstream Trove's build_root_user since Victoria): a role named `root` that is
 * NOT a superuser, the RDS model. It may log in, create databases, read and write every table
 * (pg_read_all_data, pg_write_all_data), watch the server (pg_monitor) and cancel other users'
 * queries (pg_signal_backend); it is never a member of pg_execute_server_program,
 * pg_read_server_files or pg_write_server_files, so COPY ... PROGRAM, COPY to/from server files,
 * pg_read_file, server-side lo_import and ALTER SYSTEM are refused. The agent's own admin role
 * (ADMIN_ROLE, the bootstrap superuser, unix socket + peer only) is a different role.
 */
export const ROOT_ROLE = 'root';
/** The name root enable used before (pre-Victoria Trove): demoted wherever it is found. */
export const LEGACY_ROOT_ROLE = 'postgres';
export const ROOT_MEMBER_OF = ['pg_read_all_data', 'pg_write_all_data', 'pg_monitor', 'pg_signal_backend'];
/**
 * CREATEROLE only from PostgreSQL 16: before it, a CREATEROLE role may grant itself any
 * non-superuser role, pg_execute_server_program included (then COPY ... TO PROGRAM runs a shell
 * as the server's OS user). On 15 root creates users through the API, not in SQL.
 */
export const ROOT_CREATEROLE_FROM = 160000;
export const SYSTEM_DATABASES = ['postgres', 'template0', 'template1'];
export const RESERVED_USERS = [ROOT_ROLE, LEGACY_ROOT_ROLE, ADMIN_ROLE, 'public', 'none', 'current_user', 'current_role', 'session_user'];
const MAX_NAME_BYTES = 63;
/** The replication accounts (replication.ts): never a user's. */
export const REPLICATION_ACCOUNT = /^repl_[0-9a-f]{8}$/;

export interface PgAdminOptions {
  socketDir: string;
  port: number;
}

export const generatePassword = (): string => randomBytes(18).toString('base64url');

/** A password as the SQL literal of a PASSWORD clause: a SCRAM verifier where possible. */
const passwordSql = (password: string): string => lit(scramVerifier(password) ?? password);

/** The driver's error for a missing database or role as ours (400), anything else as it is. */
function translate(err: unknown, what: string): never {
  const code = (err as { code?: string }).code;
  if (code === '3D000' || code === '42704') throw new InvalidValueError(`${what} does not exist.`);
  if (code === '22023' || code === '42809') throw new InvalidValueError(`${what}: ${(err as Error).message}`);
  throw err;
}

export class PgAdmin implements Databases, Users, Root {
  constructor(private readonly o: PgAdminOptions) {}

  async connect(database = 'postgres'): Promise<pg.Client> {
    const c = new pg.Client({ host: this.o.socketDir, port: this.o.port, user: ADMIN_ROLE, database, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined); // a server shutdown under an idle client is not the agent's crash
    await c.connect();
    return c;
  }

  async run<T>(fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> {
    const c = await this.connect(database);
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  // ---- validation ----
  private checkName(kind: 'Database' | 'User', name: string, reserved: string[]): void {
    if (!name || Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw new InvalidValueError(`${kind} name '${name}' must be 1 to ${MAX_NAME_BYTES} bytes.`);
    if (/[\x00-\x1f\x7f]/.test(name)) throw new InvalidValueError(`${kind} name '${name}' contains characters that are not allowed.`);
    if (reserved.includes(name.toLowerCase()) || (kind === 'User' && (/^pg_/i.test(name) || REPLICATION_ACCOUNT.test(name) || name === 'trove_replication')))
      throw new InvalidValueError(`${kind} name '${name}' is reserved.`);
  }

  checkDatabaseName(name: string): void {
    this.checkName('Database', name, SYSTEM_DATABASES);
  }

  checkUserName(name: string): void {
    this.checkName('User', name, RESERVED_USERS);
  }

  checkPassword(password: string | undefined): void {
    if (password === undefined) return;
    if (password.length === 0 || password.length > 255 || password.includes('\0')) throw new InvalidValueError('A password must be 1 to 255 characters.');
  }

  // ---- databases ----
  async createDatabases(dbs: DatabaseSpec[]): Promise<void> {
    for (const d of dbs) {
      this.checkDatabaseName(d.name);
      if (d.characterSet && !/^[A-Za-z0-9_-]{1,32}$/.test(d.characterSet))
        throw new InvalidValueError(`Invalid character set '${d.characterSet}' for '${d.name}'.`);
      if (d.collate && !/^[A-Za-z0-9_.@-]{1,64}$/.test(d.collate)) throw new InvalidValueError(`Invalid collation '${d.collate}' for '${d.name}'.`);
    }
    await this.run(async (c) => {
      for (const d of dbs) {
        if ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [d.name])).rowCount) continue;
        const locale = d.collate ? ` LC_COLLATE ${lit(d.collate)} LC_CTYPE ${lit(d.collate)} TEMPLATE template0` : '';
        await c
          .query(`CREATE DATABASE ${ident(d.name)} ENCODING ${lit(d.characterSet ?? 'UTF8')}${locale}`)
          .catch((err) => translate(err, `Database '${d.name}'`));
        // Only the users granted access may connect (PostgreSQL lets every role connect by default).
        await c.query(`REVOKE ALL ON DATABASE ${ident(d.name)} FROM PUBLIC`);
      }
    });
    // root reaches every database, those created after it was enabled too
    if (await this.run((c) => this.roleExists(c, ROOT_ROLE))) await this.grantRootDatabases(dbs.map((d) => d.name));
  }

  async listDatabases(limit = 1000, marker?: string, includeMarker = false): Promise<Page<DatabaseSpec>> {
    const params: unknown[] = [SYSTEM_DATABASES, limit + 1];
    if (marker !== undefined) params.push(marker);
    const { rows } = await this.run((c) =>
      c.query<{ name: string; cs: string; coll: string }>(
        `SELECT datname AS name, pg_encoding_to_char(encoding) AS cs, datcollate AS coll FROM pg_database
         WHERE NOT datistemplate AND datname <> ALL($1) ${marker !== undefined ? `AND datname ${includeMarker ? '>=' : '>'} $3` : ''}
         ORDER BY datname LIMIT $2`,
        params,
      ),
    );
    const items = rows.slice(0, limit).map((r) => ({ name: r.name, characterSet: r.cs, collate: r.coll }));
    return { items, nextMarker: rows.length > limit ? items[items.length - 1]!.name : null };
  }

  async deleteDatabase(name: string): Promise<void> {
    this.checkDatabaseName(name);
    await this.run((c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
  }

  // ---- users ----
  private async roleExists(c: pg.Client, name: string): Promise<boolean> {
    return ((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount ?? 0) > 0;
  }

  async createUsers(users: UserSpec[]): Promise<void> {
    checkNewUsers(users, this);
    await this.run(async (c) => {
      for (const u of users) {
        if (await this.roleExists(c, u.name)) throw new InvalidValueError(`User '${u.name}' already exists.`);
        await c.query(`CREATE ROLE ${ident(u.name)} LOGIN PASSWORD ${passwordSql(u.password ?? generatePassword())}`);
      }
    });
    for (const u of users) if (u.databases.length) await this.grantAccess(u.name, u.host, u.databases);
  }

  private async accessOf(c: pg.Client, name: string): Promise<string[]> {
    const { rows } = await c.query<{ name: string }>(
      `SELECT DISTINCT d.datname AS name FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a
       WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1) AND a.privilege_type = 'CONNECT'
         AND NOT d.datistemplate AND d.datname <> ALL($2) ORDER BY 1`,
      [name, SYSTEM_DATABASES],
    );
    return rows.map((r) => r.name);
  }

  async listUsers(limit = 1000, marker?: string, includeMarker = false): Promise<Page<UserSpec>> {
    return this.run(async (c) => {
      const params: unknown[] = [RESERVED_USERS, limit + 1];
      if (marker !== undefined) params.push(marker.replace(/@%$/, ''));
      const { rows } = await c.query<{ name: string }>(
        `SELECT rolname AS name FROM pg_roles WHERE rolcanlogin AND rolname <> ALL($1) AND rolname NOT LIKE 'pg\\_%' AND rolname !~ '^repl_[0-9a-f]{8}$'
         ${marker !== undefined ? `AND rolname ${includeMarker ? '>=' : '>'} $3` : ''} ORDER BY rolname LIMIT $2`,
        params,
      );
      const items: UserSpec[] = [];
      for (const r of rows.slice(0, limit)) items.push({ name: r.name, host: '%', databases: await this.accessOf(c, r.name) });
      return { items, nextMarker: rows.length > limit ? items[items.length - 1]!.name : null };
    });
  }

  async getUser(name: string, _host: string): Promise<UserSpec | null> {
    if (RESERVED_USERS.includes(name.toLowerCase()) || /^pg_/i.test(name) || REPLICATION_ACCOUNT.test(name)) return null;
    return this.run(async (c) => {
      const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1 AND rolcanlogin', [name]);
      return rowCount ? { name, host: '%', databases: await this.accessOf(c, name) } : null;
    });
  }

  /** Drops the role; what it owned is handed to the admin role so no user's data disappears with it. */
  async deleteUser(name: string, _host: string): Promise<void> {
    this.checkUserName(name);
    const dbs = await this.run(async (c) => {
      if (!(await this.roleExists(c, name))) return undefined;
      return (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname')).rows.map((r) => r.datname);
    });
    if (!dbs) return;
    for (const db of dbs) {
      await this.run(async (c) => {
        await c.query(`REASSIGN OWNED BY ${ident(name)} TO ${ident(ADMIN_ROLE)}`);
        await c.query(`DROP OWNED BY ${ident(name)}`);
      }, db);
    }
    await this.run((c) => c.query(`DROP ROLE IF EXISTS ${ident(name)}`));
  }

  async changePasswords(users: Array<{ name: string; host: string; password: string }>): Promise<void> {
    users.forEach((u) => (this.checkUserName(u.name), this.checkPassword(u.password)));
    await this.run(async (c) => {
      for (const u of users) {
        await c.query(`ALTER ROLE ${ident(u.name)} PASSWORD ${passwordSql(u.password)}`).catch((err) => translate(err, `User '${u.name}'`));
      }
    });
  }

  /** ALL on the database (CONNECT, CREATE, TEMPORARY) and on its public schema (PostgreSQL 15 gives PUBLIC no CREATE there). */
  async grantAccess(name: string, _host: string, databases: string[]): Promise<void> {
    this.checkUserName(name);
    databases.forEach((d) => this.checkDatabaseName(d));
    for (const d of databases) {
      await this.run((c) => c.query(`GRANT ALL PRIVILEGES ON DATABASE ${ident(d)} TO ${ident(name)}`)).catch((err) =>
        translate(err, `Database '${d}' or user '${name}'`),
      );
      await this.run((c) => c.query(`GRANT ALL ON SCHEMA public TO ${ident(name)}`), d).catch((err) => translate(err, `Schema public of '${d}'`));
    }
  }

  async revokeAccess(name: string, _host: string, database: string): Promise<void> {
    this.checkUserName(name);
    this.checkDatabaseName(database);
    await this.run((c) => c.query(`REVOKE ALL PRIVILEGES ON DATABASE ${ident(database)} FROM ${ident(name)}`)).catch((err) =>
      translate(err, `Database '${database}' or user '${name}'`),
    );
    await this.run((c) => c.query(`REVOKE ALL ON SCHEMA public FROM ${ident(name)}`), database).catch((err) =>
      translate(err, `Schema public of '${database}'`),
    );
  }

  async listAccess(name: string, _host: string): Promise<DatabaseSpec[]> {
    return this.run(async (c) => (await this.accessOf(c, name)).map((d) => ({ name: d })));
  }

  // ---- root ----
  /** CONNECT, CREATE and TEMPORARY on the databases and ALL on their public schema, as a user granted access gets. */
  private async grantRootDatabases(databases?: string[]): Promise<void> {
    const dbs =
      databases ??
      (await this.run(async (c) =>
        (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1')).rows.map((r) => r.datname),
      ));
    for (const d of dbs) {
      await this.run((c) => c.query(`GRANT ALL PRIVILEGES ON DATABASE ${ident(d)} TO ${ident(ROOT_ROLE)}`));
      await this.run((c) => c.query(`GRANT ALL ON SCHEMA public TO ${ident(ROOT_ROLE)}`), d).catch(() => undefined); // a database without a public schema
    }
  }

  async enableRoot(password?: string): Promise<{ name: string; password: string }> {
    const pw = password ?? generatePassword();
    this.checkPassword(pw);
    await this.run(async (c) => {
      const version = Number((await c.query<{ v: string }>('SHOW server_version_num')).rows[0]!.v);
      const createRole = version >= ROOT_CREATEROLE_FROM ? 'CREATEROLE' : 'NOCREATEROLE';
      const verb = (await this.roleExists(c, ROOT_ROLE)) ? 'ALTER' : 'CREATE';
      await c.query(`${verb} ROLE ${ident(ROOT_ROLE)} NOSUPERUSER NOREPLICATION NOBYPASSRLS INHERIT CREATEDB ${createRole} LOGIN PASSWORD ${passwordSql(pw)}`);
      await c.query(`GRANT ${ROOT_MEMBER_OF.map(ident).join(', ')} TO ${ident(ROOT_ROLE)}`);
      await this.demoteLegacyRoot(c);
    });
    await this.grantRootDatabases();
    return { name: ROOT_ROLE, password: pw };
  }

  /** An instance whose root was enabled before: its `postgres` superuser can no longer log in. */
  private async demoteLegacyRoot(c: pg.Client): Promise<void> {
    if (await this.roleExists(c, LEGACY_ROOT_ROLE)) await c.query(`ALTER ROLE ${ident(LEGACY_ROOT_ROLE)} NOSUPERUSER NOLOGIN PASSWORD NULL`);
  }

  /** The root role keeps what it owns but can no longer log in. */
  async disableRoot(): Promise<void> {
    await this.run(async (c) => {
      if (await this.roleExists(c, ROOT_ROLE)) await c.query(`ALTER ROLE ${ident(ROOT_ROLE)} NOSUPERUSER NOLOGIN PASSWORD NULL`);
      await this.demoteLegacyRoot(c);
    });
  }

  /** root (or the legacy `postgres` root of an instance enabled before) may log in. */
  async isRootEnabled(): Promise<boolean> {
    return this.run(
      async (c) => ((await c.query('SELECT 1 FROM pg_roles WHERE rolname = ANY($1) AND rolcanlogin', [[ROOT_ROLE, LEGACY_ROOT_ROLE]])).rowCount ?? 0) > 0,
    );
  }
}

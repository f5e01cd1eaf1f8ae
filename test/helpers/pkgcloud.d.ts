// The part of pkgcloud (CommonJS, no types of its own) that the compatibility tier drives: the
// OpenStack database (Trove) client, as written in lib/pkgcloud/openstack/database/client/*.js.
declare module 'pkgcloud' {
  namespace pkgcloud {
    type Callback<T> = (err: ClientError | Error | null | undefined, result: T) => void;

    /** What pkgcloud's Client._parseError (and Identity's getError) hands back for a failCodes status. */
    interface ClientError extends Error {
      provider?: string;
      failCode: string;
      statusCode: number;
      href: string;
      method: string;
      headers: Record<string, string>;
      result?: unknown;
    }

    /** The `res` of the `request` package, as some calls pass it on. */
    interface Response {
      statusCode: number;
      headers: Record<string, string>;
    }

    interface DatabaseClientOptions {
      provider: 'openstack';
      username: string;
      password: string;
      /** Keystone's root URL: pkgcloud appends /v3/auth/tokens (or /v2.0/tokens) itself. */
      authUrl: string;
      region?: string;
      keystoneAuthVersion?: 'v2.0' | 'v3';
      /** The user's domain (v3). */
      domainName?: string;
      domainId?: string;
      /** The project to scope to. */
      tenantName?: string;
      tenantId?: string;
      /** The scoped project's domain (v3); Keystone refuses a project name without it. */
      projectDomainName?: string;
      projectDomainId?: string;
      useInternal?: boolean;
      useAdmin?: boolean;
    }

    interface Flavor {
      id: number | null;
      name: string;
      ram: number;
      /** The flavor's self link; createInstance sends it as flavorRef. */
      href: string;
    }

    interface Instance {
      id: string;
      name: string;
      /** pkgcloud's compute status: BUILD/REBOOT/RESIZE → PROVISIONING, ACTIVE → RUNNING, anything unknown → UNKNOWN. */
      status: string;
      flavor: { id?: string; links?: Array<{ href: string; rel: string }> };
      volume?: { size: number; used?: number };
      hostname?: string;
      links: Array<{ href: string; rel: string }>;
      /** The server's instance body as it came. */
      original: Record<string, unknown>;
    }

    interface Database {
      name: string;
    }

    interface User {
      name: string;
      password?: string;
    }

    interface CreateUserOptions {
      instance: string | Instance;
      username: string;
      password: string;
      database?: string | Database;
      databases?: string | Database | Array<string | Database>;
    }

    interface Paging {
      limit?: number;
      /** Sent as `marker`. */
      offset?: string;
    }

    interface DatabaseClient {
      _serviceUrl: string | null;
      auth(cb: (err?: ClientError | Error) => void): void;
      getVersion(cb: Callback<Array<{ id: string; status: string; links: unknown[] }>>): void;

      getFlavors(cb: Callback<Flavor[]>): void;
      getFlavor(id: string | number, cb: Callback<Flavor>): void;

      createInstance(
        o: { name: string; flavor: string | Flavor; size?: number; databases?: Array<string | { name: string; character_set?: string; collate?: string }> },
        cb: Callback<Instance>,
      ): void;
      getInstances(o: Paging, cb: (err: ClientError | Error | null | undefined, instances: Instance[], marker: string | null) => void): void;
      getInstance(instance: string | Instance, cb: Callback<Instance>): void;
      destroyInstance(instance: string | Instance, cb: Callback<Response>): void;
      restartInstance(instance: string | Instance, cb: (err?: ClientError | Error | null) => void): void;
      setFlavor(instance: string | Instance, flavor: Flavor, cb: (err?: ClientError | Error | null) => void): void;
      setVolumeSize(instance: string | Instance, size: number, cb: (err?: ClientError | Error | null) => void): void;
      enableRootUser(instance: string | Instance, cb: Callback<{ user: { name: string; password: string } }>): void;
      listRootStatus(instance: string | Instance, cb: Callback<{ rootEnabled: boolean }>): void;

      createDatabase(o: { instance: string | Instance; name: string; character_set?: string; collate?: string }, cb: Callback<Response>): void;
      getDatabases(
        o: { instance: string | Instance } & Paging,
        cb: (err: ClientError | Error | null | undefined, dbs: Database[], marker: string | null) => void,
      ): void;
      destroyDatabase(database: string | Database, instance: string | Instance, cb: Callback<Response>): void;

      createUser(o: CreateUserOptions | CreateUserOptions[], cb: Callback<Response>): void;
      getUsers(
        o: { instance: string | Instance } & Paging,
        cb: (err: ClientError | Error | null | undefined, users: User[], marker: string | null) => void,
      ): void;
      destroyUser(instance: string | Instance, user: string | User, cb: Callback<Response>): void;
      enableRoot(instance: string | Instance, cb: (err: ClientError | Error | null | undefined, user: User, res: Response) => void): void;
      rootEnabled(instance: string | Instance, cb: (err: ClientError | Error | null | undefined, enabled: boolean, res: Response) => void): void;
    }
  }

  const pkgcloud: {
    version: string;
    database: { createClient(o: pkgcloud.DatabaseClientOptions): pkgcloud.DatabaseClient };
  };
  export = pkgcloud;
}

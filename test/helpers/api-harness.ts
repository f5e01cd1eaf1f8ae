// A real trove-api Koa server on a random port over a throwaway MariaDB database, with tokens
// the test defines (the compat tier uses real Keystone; this tier tests the API's own behaviour).
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { createApp } from '../../src/api/app.js';
import { taskmanagerContract } from '../../src/rpc/contracts/taskmanager.js';
import { apiDefaults, datastoreNamesSection, quotaDefaultsOf } from '../../src/api/config.js';
import { secureRpc } from '../../src/rpc/secure.js';
import type { ApiDeps, GuestApi, TaskManagerApi, UserClients } from '../../src/api/deps.js';
import { RateLimiter, rulesFromConfig } from '../../src/api/rate-limit.js';
import { InvalidTokenError, type TokenInfo, type TokenValidator } from '../../src/clients/identity.js';
import { configSection } from '../../src/common/config/schema.js';
import { createLogger } from '../../src/common/log.js';
import type { Authorizer } from '../../src/api/authorizer.js';
import { ComputeNotFoundError, type Compute, type Flavor } from '../../src/clients/compute.js';
import { createThrowawayDb, createThrowawaySqlite, type ThrowawayDb } from './throwaway-db.js';

export interface TestUser {
  token: string;
  projectId: string;
  roles: string[];
  userId?: string;
}

export class TableTokens implements TokenValidator {
  constructor(private readonly users: TestUser[]) {}
  async validate(token: string): Promise<TokenInfo> {
    const u = this.users.find((x) => x.token === token);
    if (!u) throw new InvalidTokenError();
    return {
      userId: u.userId ?? `uid-${u.projectId}-${u.roles.join('-')}`,
      userName: `name-${u.projectId}`,
      projectId: u.projectId,
      projectName: u.projectId,
      roles: u.roles,
      expiresAt: new Date(Date.now() + 3600_000),
      catalog: [],
    };
  }
}

/** Records what the API asked the taskmanager to do (method name, arguments). */
export class RecordingTaskManager {
  readonly calls: Array<[string, Record<string, unknown>]> = [];
  failNext = false;
  readonly stub: TaskManagerApi;
  constructor() {
    const record = async (name: string, args: Record<string, unknown>) => {
      if (this.failNext) {
        this.failNext = false;
        throw new Error('bus down');
      }
      this.calls.push([name, args]);
    };
    this.stub = Object.fromEntries(Object.keys(taskmanagerContract).map((m) => [m, (a: Record<string, unknown>) => record(m, a)])) as unknown as TaskManagerApi;
  }
}

export interface Harness {
  url: string;
  tdb: ThrowawayDb;
  deps: ApiDeps;
  logs: string[];
  /** axios that never throws on HTTP status, with a token (or none). */
  as(token?: string): AxiosInstance;
  close(): Promise<void>;
}

export interface HarnessOptions {
  users: TestUser[];
  config?: Record<string, string>;
  authorizer?: Authorizer;
  userClients?: ApiDeps['userClients'];
  taskmanager?: RecordingTaskManager;
  /** The guest agents (default: none reachable). */
  guest?: ApiDeps['guest'];
  sqlite?: boolean;
}

export async function startApi(options: HarnessOptions): Promise<Harness> {
  const tdb = options.sqlite ? await createThrowawaySqlite() : await createThrowawayDb();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const config = configSection({ DEFAULT: options.config ?? {} }, 'DEFAULT', apiDefaults);
  const deps: ApiDeps = {
    taskmanager: (options.taskmanager ?? new RecordingTaskManager()).stub,
    guest:
      options.guest ??
      ((): GuestApi => {
        throw new Error('no guest agents in this test');
      }),
    datastoreNames: (manager) => configSection({}, manager, datastoreNamesSection),
    secure: secureRpc({ DEFAULT: options.config ?? {} }),
    backupStorage: async () => ({ driver: 'local' }),
    config,
    db: tdb.db,
    log: createLogger('trove-api-test', { destination: sink }),
    tokens: new TableTokens(options.users),
    authorizer: options.authorizer ?? { authorize: () => undefined, isAdmin: (c) => c.roles.includes('admin') },
    rateLimiter: new RateLimiter(rulesFromConfig(config)),
    quotaDefaults: quotaDefaultsOf(config),
    wwwAuthenticateUri: 'http://127.0.0.1:5000',
    userClients:
      options.userClients ??
      ((): UserClients => {
        throw new Error('no cloud clients in this test');
      }),
  };
  const server = http.createServer(createApp(deps).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tdb,
    deps,
    logs,
    as(token?: string) {
      return axios.create({
        baseURL: url,
        validateStatus: () => true,
        headers: { 'Content-Type': 'application/json', ...(token ? { 'X-Auth-Token': token } : {}) },
        transformRequest: [(d: unknown) => (typeof d === 'string' || d === undefined ? d : JSON.stringify(d))],
        transformResponse: [
          (d: string) => {
            try {
              return JSON.parse(d);
            } catch {
              return d;
            }
          },
        ],
      });
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tdb.drop();
    },
  };
}

/** A Compute that knows these flavors (and answers ComputeNotFoundError for any other). */
export function flavorCompute(flavors: Flavor[]): Compute {
  return {
    listFlavors: async () => flavors,
    getFlavor: async (id) => {
      const f = flavors.find((x) => x.id === id);
      if (!f) throw new ComputeNotFoundError('flavor', id);
      return f;
    },
  };
}

// What the API's routes are given: storage, identity, policy and the cloud clients.
import type { Notifier } from '../notifications/notifier.js';
import type { Context } from 'koa';
import type { Db } from '../db/connection.js';
import type { Logger } from '../common/log.js';
import type { TokenInfo, TokenValidator, TrustDelegation } from '../clients/identity.js';
import type { SecretBox } from '../common/secret-box.js';
import type { UserClients } from '../clients/drivers.js';
import type { GuestAgentProcesses } from '../clients/compute.js';
import type { RequestContext } from '../common/context.js';
import type { QuotaLimits } from '../db/quotas.js';
import type { ApiDefaults } from './config.js';
import type { Authorizer } from './authorizer.js';
import type { RateLimiter } from './rate-limit.js';
import type { LinkBase } from './links.js';
import type { Stub } from '../rpc/contract.js';
import type { CreateInstanceArgs, TaskmanagerContract } from '../rpc/contracts/taskmanager.js';
import type { GuestContract } from '../rpc/contracts/guest.js';
import type { DatastoreNames } from './config.js';
import type { BackupStorage } from '../rpc/contracts/common.js';
import type { SecureRpc } from '../rpc/secure.js';
import type { HealthCheck } from '../common/metrics/health.js';

export type { UserClients };

/** The taskmanager's typed stub (casts: the API answers before the work is done). */
export type TaskManagerApi = Stub<TaskmanagerContract>;
export type CreateInstanceCast = CreateInstanceArgs;
/** One instance's guest agent (calls wait for the engine's answer). */
export type GuestApi = Stub<GuestContract>;

export interface ApiDeps {
  taskmanager: TaskManagerApi;
  /** The guest agent of an instance, on its own topic (encrypted with its key: instances.encrypted_key). */
  guest(instanceId: string, encryptedKey: string | null): GuestApi;
  /** RPC encryption settings. */
  secure: SecureRpc;
  /** The names the API refuses for a datastore manager ([<manager>] ignore_users / ignore_dbs). */
  datastoreNames(manager: string): DatastoreNames;
  /** [<manager>] replication_strategy: '' when the datastore has no replication (absent: none has). */
  replicationStrategy?(manager: string): string;
  config: ApiDefaults;
  db: Db;
  log: Logger;
  tokens: TokenValidator;
  authorizer: Authorizer;
  rateLimiter: RateLimiter;
  quotaDefaults: QuotaLimits;
  wwwAuthenticateUri?: string | undefined;
  /** What GET /healthcheck checks (the control database and the bus) and [healthcheck] detailed; absent: the database alone. */
  health?: { checks: HealthCheck[]; detailed: boolean };
  /** Releases what buildDeps opened besides the database (its own bus connection). */
  close?(): Promise<void>;
  /** Where the caller's backups are stored, with the caller's rights (the user's Swift, or the local store). */
  backupStorage(context: RequestContext, token: TokenInfo): Promise<BackupStorage>;
  /** Cloud clients acting with the caller's token. */
  userClients(context: RequestContext, token: TokenInfo): UserClients;
  /**
   * Keystone trusts for work done later without the caller's token (scheduled backups into the
   * caller's Swift), and the box that seals their ids (the taskmanager's secret). Absent without Keystone.
   */
  trusts?: { delegation: TrustDelegation; box: SecretBox } | undefined;
  /** compute_driver = local: the guest agents are processes here; an agent upgrade restarts one on the installed code. */
  guestAgents?: GuestAgentProcesses | undefined;
  /** Usage notifications ([oslo_messaging_notifications]): the dbaas.*.start of the actions. */
  notifier?: Notifier;
}

export function requestContext(ctx: Context): RequestContext {
  return ctx.state.context as RequestContext;
}

export function tokenInfo(ctx: Context): TokenInfo {
  return ctx.state.tokenInfo as TokenInfo;
}

export function linkBase(ctx: Context, deps: ApiDeps): LinkBase {
  return { scheme: deps.config.links_scheme, host: ctx.host, projectId: requestContext(ctx).projectId };
}

/** A path parameter the route declares (always present when the route matched). */
export function param(ctx: Context, name: string): string {
  const v = (ctx.params as Record<string, string | undefined> | undefined)?.[name];
  if (v === undefined) throw new Error(`route has no :${name} parameter`);
  return v;
}

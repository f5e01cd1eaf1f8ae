// What each service asks of the cloud, in our terms: trove-api's identity and the caller's
// clients (ApiDrivers), the taskmanager's servers, volumes, networks, object stores and guests'
// bus accounts (FlowDrivers). src/clients/factory.ts builds the real ones from the configuration;
// the services take them as dependencies, so a test hands them fakes.
import type { Compute, GuestAgentProcesses, ServerCompute, ZoneLookup } from './compute.js';
import type { BlockStorage, VolumeService } from './volume.js';
import type { Network, NetworkLookup } from './network.js';
import type { ObjectStore } from './object-store.js';
import type { TokenInfo, TokenValidator, TrustDelegation } from './identity.js';
import type { GuestBus } from './bus-accounts.js';
import type { RequestContext } from '../common/context.js';
import type { BackupStorage } from '../rpc/contracts/common.js';

/** Drivers acting with the caller's token (flavors, volume types, the networks and zones a create names). */
export interface UserClients {
  compute: Compute;
  blockStorage: BlockStorage;
  /** Networks as the caller sees them; absent: there is no network service, no network can be named. */
  network?: NetworkLookup;
  /** The caller's availability zones; absent: no zone can be named (refused). */
  zones?: ZoneLookup;
}

/** trove-api's drivers. */
export interface ApiDrivers {
  /** Validates the callers' tokens: Keystone's, or the all-in-one's admin token. */
  tokens: TokenValidator;
  /** The admin token: the API may listen on a loopback address only. */
  loopbackOnly?: boolean;
  /** Where a 401 sends the caller (WWW-Authenticate). */
  wwwAuthenticateUri?: string | undefined;
  /** Cloud clients acting with the caller's token. */
  userClients(context: RequestContext, token: TokenInfo): UserClients;
  /** Where the caller's backups are stored, with the caller's rights (the user's Swift, or the local store). */
  backupStorage(context: RequestContext, token: TokenInfo): Promise<BackupStorage>;
  /** Keystone trusts for scheduled backups into the caller's Swift; absent without Keystone. */
  trusts?: TrustDelegation | undefined;
  /** compute_driver = local: the guest agents are processes here, upgraded by a restart on the installed code. */
  guestAgents?: GuestAgentProcesses | undefined;
}

/** The taskmanager's drivers, acting with the service's own identity. */
export interface FlowDrivers {
  compute: ServerCompute;
  volumes: VolumeService;
  network: Network;
  /** The object store a backup lives in, with the rights the storage descriptor carries. */
  objectStore(storage: BackupStorage): ObjectStore;
  /**
   * Keystone trusts of backup schedules (absent without Keystone): trust-scoped tokens, and the
   * trustor's Swift account URL from such a token's catalog.
   */
  scheduleTrusts?: { delegation: TrustDelegation; swiftUrl(info: TokenInfo, token: string): Promise<string> } | undefined;
  /** Each guest's own bus user (RabbitMQ's, or the all-in-one socket bus's) and the transport_url
   * its config gets; absent: the guests share the service's transport_url (in-process bus, or
   * RabbitMQ with [rabbit_management] guest_users = false). */
  guestBus?: GuestBus | undefined;
}

// What the taskmanager's flows work with: the database, the cloud drivers, the guests' bus.
import type { Db } from '../db/connection.js';
import { encryptedKeyOf } from '../db/instances.js';
import type { Logger } from '../common/log.js';
import type { ServerCompute } from '../clients/compute.js';
import type { VolumeService } from '../clients/volume.js';
import type { Network } from '../clients/network.js';
import type { RawConfig } from '../common/config/reader.js';
import type { SecretBox } from '../common/secret-box.js';
import type { SecureRpc } from '../rpc/secure.js';
import type { RpcClient } from '../rpc/rpc.js';
import type { Stub } from '../rpc/contract.js';
import { guestContract, guestTopic, type GuestContract } from '../rpc/contracts/guest.js';
import type { MessagingConfig } from '../rpc/config.js';
import type { TaskmanagerConfig } from './config.js';
import type { FlowRunner } from './flow.js';
import type { ObjectStore } from '../clients/object-store.js';
import type { BackupStorage } from '../rpc/contracts/common.js';
import type { TokenInfo, TrustDelegation } from '../clients/identity.js';
import type { BusAccounts } from '../clients/bus-accounts.js';

export interface TaskContext {
  db: Db;
  log: Logger;
  raw: RawConfig;
  config: TaskmanagerConfig;
  messaging: MessagingConfig;
  compute: ServerCompute;
  volumes: VolumeService;
  network: Network;
  rpc: RpcClient;
  secrets: SecretBox;
  /** RPC encryption: the taskmanager topic's and each guest's serializers. */
  secure: SecureRpc;
  runner: FlowRunner;
  /** The object store a backup lives in, with the rights the storage descriptor carries. */
  objectStore(storage: BackupStorage): ObjectStore;
  /**
   * Keystone trusts of backup schedules (absent without Keystone): trust-scoped tokens, and the
   * trustor's Swift account URL from such a token's catalog.
   */
  /** Each guest's own bus user (RabbitMQ's, or the all-in-one socket bus's) and the transport_url
   * its config gets; absent: the guests share the service's transport_url (in-process bus, or
   * RabbitMQ with [rabbit_management] guest_users = false). */
  guestBus?: { accounts: BusAccounts; transportUrl(instanceId: string, password: string): string } | undefined;
  scheduleTrusts?: { delegation: TrustDelegation; swiftUrl(info: TokenInfo, token: string): Promise<string> } | undefined;
}

/** The instance's guest, its messages encrypted with the instance's key (read at each call). */
export function guestOf(ctx: TaskContext, instanceId: string): Stub<GuestContract> {
  const stubFor = async () => {
    return ctx.rpc.stub(guestContract, guestTopic(instanceId), { serializer: ctx.secure.guest(await encryptedKeyOf(ctx.db, instanceId)) });
  };
  return new Proxy({} as Stub<GuestContract>, {
    get: (_t, verb: string) => async (args?: unknown, options?: unknown) => {
      const stub = (await stubFor()) as unknown as Record<string, (a?: unknown, o?: unknown) => Promise<unknown>>;
      return stub[verb]!(args, options);
    },
  });
}

// What the taskmanager's flows work with: the database, the cloud drivers, the guests' bus.
import type { Db } from '../db/connection.js';
import { agentRpcVersionOf, encryptedKeyOf } from '../db/instances.js';
import { configSection } from '../common/config/schema.js';
import { guestVersionCap, upgradeLevelsSection } from '../rpc/upgrade-levels.js';
import type { Logger } from '../common/log.js';
import type { FlowDrivers } from '../clients/drivers.js';
import type { RawConfig } from '../common/config/reader.js';
import type { SecretBox } from '../common/secret-box.js';
import type { SecureRpc } from '../rpc/secure.js';
import type { RpcClient } from '../rpc/rpc.js';
import type { Stub } from '../rpc/contract.js';
import { guestContract, guestTopic, type GuestContract } from '../rpc/contracts/guest.js';
import type { MessagingConfig } from '../rpc/config.js';
import type { TaskmanagerConfig } from './config.js';
import type { FlowRunner } from './flow.js';
import type { Notifier } from '../notifications/notifier.js';

/** The flows' drivers (compute, volumes, network, objectStore, scheduleTrusts, guestBus), and: */
export interface TaskContext extends FlowDrivers {
  db: Db;
  log: Logger;
  raw: RawConfig;
  config: TaskmanagerConfig;
  messaging: MessagingConfig;
  rpc: RpcClient;
  secrets: SecretBox;
  /** RPC encryption: the taskmanager topic's and each guest's serializers. */
  secure: SecureRpc;
  runner: FlowRunner;
  /** Usage notifications ([oslo_messaging_notifications]). */
  notifier: Notifier;
}

/** The instance's guest, its messages encrypted with the instance's key (read at each call). */
export function guestOf(ctx: TaskContext, instanceId: string): Stub<GuestContract> {
  const stubFor = async () => {
    return ctx.rpc.stub(guestContract, guestTopic(instanceId), {
      serializer: ctx.secure.guest(await encryptedKeyOf(ctx.db, instanceId)),
      // no verb newer than the agent speaks (its heartbeats) and [upgrade_levels] guestagent allows
      versionCap: async () =>
        guestVersionCap(instanceId, await agentRpcVersionOf(ctx.db, instanceId), configSection(ctx.raw, 'upgrade_levels', upgradeLevelsSection)),
    });
  };
  return new Proxy({} as Stub<GuestContract>, {
    get: (_t, verb: string) => async (args?: unknown, options?: unknown) => {
      const stub = (await stubFor()) as unknown as Record<string, (a?: unknown, o?: unknown) => Promise<unknown>>;
      return stub[verb]!(args, options);
    },
  });
}

// What the taskmanager's flows work with: the database, the cloud drivers, the guests' bus.
import type { Db } from '../db/connection.js';
import type { Logger } from '../common/log.js';
import type { ServerCompute } from '../clients/compute.js';
import type { VolumeService } from '../clients/volume.js';
import type { Network } from '../clients/network.js';
import type { RawConfig } from '../common/config/reader.js';
import type { SecretBox } from '../common/secret-box.js';
import type { RpcClient } from '../rpc/rpc.js';
import type { Stub } from '../rpc/contract.js';
import { guestContract, guestTopic, type GuestContract } from '../rpc/contracts/guest.js';
import type { MessagingConfig } from '../rpc/config.js';
import type { TaskmanagerConfig } from './config.js';
import type { FlowRunner } from './flow.js';
import type { ObjectStore } from '../clients/object-store.js';
import type { BackupStorage } from '../rpc/contracts/common.js';

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
  runner: FlowRunner;
  /** The object store a backup lives in, with the rights the storage descriptor carries. */
  objectStore(storage: BackupStorage): ObjectStore;
}

export function guestOf(ctx: TaskContext, instanceId: string): Stub<GuestContract> {
  return ctx.rpc.stub(guestContract, guestTopic(instanceId));
}

// The guest agent's configuration the taskmanager injects into a new server (guest_info).
import type { MessagingConfig } from '../rpc/config.js';

export interface GuestInfo {
  instanceId: string;
  tenantId: string;
  manager: string;
  version: string;
  reportInterval: number;
  /** The instance's RPC key (Trove's instance_rpc_encr_key); null: plain messages. */
  rpcKey: string | null;
  /** The service key that wraps each backup's data key (Trove's backup_aes_cbc_key). */
  backupKey: string | null;
}

const clean = (v: string) => v.replace(/[\r\n]/g, '');

/** `transportUrl`: the guest's own (its bus user), never the service's credentials on RabbitMQ. */
export function renderGuestConfig(info: GuestInfo, messaging: MessagingConfig, transportUrl: string): string {
  return [
    '# written by trove-taskmanager',
    '[DEFAULT]',
    `guest_id = ${clean(info.instanceId)}`,
    `datastore_manager = ${clean(info.manager)}`,
    `datastore_version = ${clean(info.version)}`,
    `tenant_id = ${clean(info.tenantId)}`,
    `transport_url = ${clean(transportUrl)}`,
    `control_exchange = ${clean(messaging.control_exchange)}`,
    `rpc_response_timeout = ${messaging.rpc_response_timeout}`,
    `report_interval = ${info.reportInterval}`,
    ...(info.rpcKey ? [`instance_rpc_encr_key = ${clean(info.rpcKey)}`] : []),
    ...(info.backupKey ? [`backup_aes_cbc_key = ${clean(info.backupKey)}`] : []),
    '',
  ].join('\n');
}

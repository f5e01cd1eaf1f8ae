// The guest agent's configuration the taskmanager injects into a new server (guest_info).
import { renderIni } from '../common/config/writer.js';
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

/** `transportUrl`: the guest's own (its bus user), never the service's credentials on RabbitMQ. */
export function renderGuestConfig(info: GuestInfo, messaging: MessagingConfig, transportUrl: string): string {
  return renderIni(
    {
      DEFAULT: {
        guest_id: info.instanceId,
        datastore_manager: info.manager,
        datastore_version: info.version,
        tenant_id: info.tenantId,
        transport_url: transportUrl,
        control_exchange: messaging.control_exchange,
        rpc_response_timeout: messaging.rpc_response_timeout,
        report_interval: info.reportInterval,
        instance_rpc_encr_key: info.rpcKey || undefined,
        backup_aes_cbc_key: info.backupKey || undefined,
      },
    },
    'written by trove-taskmanager',
  );
}

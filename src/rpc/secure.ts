// Trove's secure RPC messaging, wired from configuration: the taskmanager topic encrypted with
// taskmanager_rpc_encr_key; each guest's topic with its own instance key, stored in
// instances.encrypted_key encrypted with inst_rpc_key_encr_key; guest → conductor values carry
// their instance id so the conductor finds the key. Off (enable_secure_rpc_messaging = false):
// plain messages everywhere.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { configSection, opt } from '../common/config/schema.js';
import type { RawConfig } from '../common/config/reader.js';
import {
  conductorGuestSerializer,
  conductorHostSerializer,
  decryptText,
  encryptText,
  plainSerializer,
  secureSerializer,
  type RpcSerializer,
} from './encryption.js';

/** [DEFAULT] keys of the encryption (Trove's names and default secrets: change them). */
export const secureRpcDefaults = z.object({
  enable_secure_rpc_messaging: opt.bool(true),
  taskmanager_rpc_encr_key: opt.str('bzH6y0SGmjuoY0FNSTptrhgieGXNDX6PIhvz'),
  inst_rpc_key_encr_key: opt.str('emYjgHFqfXNB1NGehAFIUeoyw4V4XwWHEaKP'),
});

export interface SecureRpc {
  readonly enabled: boolean;
  /** Both ends of the taskmanager topic. */
  taskmanager: RpcSerializer;
  /** A new instance's key, encrypted for instances.encrypted_key (null when encryption is off). */
  newInstanceKey(): string | null;
  /** The instance's key from instances.encrypted_key (null: talk plain). */
  instanceKey(encryptedKey: string | null | undefined): string | null;
  /** The control plane's side of a guest's topic. */
  guest(encryptedKey: string | null | undefined): RpcSerializer;
  /** The conductor's side of its topic: finds each guest's key by the instance id it names. */
  conductor(encryptedKeyOf: (instanceId: string) => Promise<string | null | undefined>): RpcSerializer;
}

export function secureRpc(raw: RawConfig): SecureRpc {
  const c = configSection(raw, 'DEFAULT', secureRpcDefaults);
  const on = c.enable_secure_rpc_messaging;
  const instanceKey = (encrypted: string | null | undefined): string | null => {
    if (!on || !encrypted) return null;
    try {
      return decryptText(encrypted, c.inst_rpc_key_encr_key);
    } catch {
      // a key stored before encryption was configured (or under another master key): plain
      return null;
    }
  };
  return {
    enabled: on,
    taskmanager: on ? secureSerializer(c.taskmanager_rpc_encr_key) : plainSerializer,
    newInstanceKey: () => (on ? encryptText(randomBytes(24).toString('base64url'), c.inst_rpc_key_encr_key) : null),
    instanceKey,
    guest: (encrypted) => secureSerializer(instanceKey(encrypted)),
    conductor: (encryptedKeyOf) =>
      // plain values are accepted, as Trove does (an instance made before encryption was on has no key)
      on ? conductorHostSerializer({ instanceKey: async (id) => instanceKey(await encryptedKeyOf(id)) ?? undefined }) : plainSerializer,
  };
}

/** The guest's side: its own topic and its casts to the conductor, with the key from guest_info. */
export function guestSerializers(instanceId: string, key: string | null | undefined): { own: RpcSerializer; conductor: RpcSerializer } {
  return { own: secureSerializer(key), conductor: conductorGuestSerializer(key, instanceId) };
}

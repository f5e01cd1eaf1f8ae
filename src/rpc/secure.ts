// Trove's secure RPC messaging, wired from configuration: the taskmanager topic encrypted with
// taskmanager_rpc_encr_key; each guest's topic with its own instance key, stored in
// instances.encrypted_key encrypted with inst_rpc_key_encr_key; guest → conductor values carry
// their instance id so the conductor finds the key. Off (enable_secure_rpc_messaging = false):
// plain messages everywhere.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { configSection, opt } from '../common/config/schema.js';
import type { RawConfig } from '../common/config/reader.js';
import { ConfigError } from '../common/errors.js';
import {
  conductorGuestSerializer,
  conductorHostSerializer,
  decryptText,
  encryptText,
  plainSerializer,
  secureSerializer,
  type RpcSerializer,
} from './encryption.js';

/** Trove's published default secrets: anyone can read them, so a service refuses to start with them. */
export const TROVE_DEFAULT_KEYS = {
  taskmanager_rpc_encr_key: 'bzH6y0SGmjuoY0FNSTptrhgieGXNDX6PIhvz',
  inst_rpc_key_encr_key: 'emYjgHFqfXNB1NGehAFIUeoyw4V4XwWHEaKP',
} as const;

/** [DEFAULT] keys of the encryption (Trove's names and default secrets: change them). */
export const secureRpcDefaults = z.object({
  enable_secure_rpc_messaging: opt.bool(true),
  taskmanager_rpc_encr_key: opt.str(TROVE_DEFAULT_KEYS.taskmanager_rpc_encr_key),
  inst_rpc_key_encr_key: opt.str(TROVE_DEFAULT_KEYS.inst_rpc_key_encr_key),
  /** (trove-ts) For tests only: start with Trove's published default keys. */
  allow_insecure_default_keys: opt.bool(false),
});

/**
 * Refuses Trove's published default keys at a service's start (they seal every pending flow's
 * passwords and every instance's bus key): one line naming the key and how to make one. The
 * instance key master only matters while secure messaging is on.
 */
export function refuseDefaultKeys(raw: RawConfig): void {
  const c = configSection(raw, 'DEFAULT', secureRpcDefaults);
  if (c.allow_insecure_default_keys) return;
  const keys = ['taskmanager_rpc_encr_key', ...(c.enable_secure_rpc_messaging ? ['inst_rpc_key_encr_key' as const] : [])] as const;
  for (const key of keys) {
    if (c[key] === TROVE_DEFAULT_KEYS[key]) {
      throw new ConfigError(
        `trove.conf [DEFAULT] ${key} is Trove's published default: set it to a secret of your own, the same in every service (e.g. \`openssl rand -base64 32\`)`,
      );
    }
  }
}

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

// Trove's optional RPC encryption (crypto_utils + secure_serializer): AES-256-CBC whose key is the
// md5 hexdigest of the secret taken as 32 ASCII bytes, a random 16-byte IV before the ciphertext,
// PKCS#7 padding, base64. oslo serializes each arg value, the context and a call's result apart.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const IV_BYTES = 16;

/** The AES-256 key Trove derives from a secret. */
export const rpcKey = (secret: string): Buffer => Buffer.from(createHash('md5').update(secret, 'utf8').digest('hex'), 'ascii');

/** base64(iv + AES-256-CBC(plain)) — Trove's encode_data(encrypt_data(plain, secret)). */
export function encryptText(plain: string, secret: string, iv: Buffer = randomBytes(IV_BYTES)): string {
  const c = createCipheriv('aes-256-cbc', rpcKey(secret), iv);
  return Buffer.concat([iv, c.update(plain, 'utf8'), c.final()]).toString('base64');
}

/** Trove's decrypt_data(decode_data(b64), secret); throws on a wrong key or a damaged text. */
export function decryptText(b64: string, secret: string): string {
  const data = Buffer.from(b64, 'base64');
  if (data.length < IV_BYTES * 2 || data.length % IV_BYTES !== 0) throw new Error('not an encrypted RPC value');
  const d = createDecipheriv('aes-256-cbc', rpcKey(secret), data.subarray(0, IV_BYTES));
  return Buffer.concat([d.update(data.subarray(IV_BYTES)), d.final()]).toString('utf8');
}

const dumps = (v: unknown): string => JSON.stringify(v ?? null);

/** How one side of a topic turns arg values, the context and results into wire values and back. */
export interface RpcSerializer {
  serializeEntity(value: unknown): unknown;
  deserializeEntity(value: unknown): Promise<unknown>;
  serializeContext(context: Record<string, unknown>): Record<string, unknown>;
  deserializeContext(context: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export const plainSerializer: RpcSerializer = {
  serializeEntity: (v) => v,
  deserializeEntity: async (v) => v,
  serializeContext: (c) => c,
  deserializeContext: async (c) => c,
};

/**
 * Decrypts and parses a value of an encrypted topic. A plain value, or one this topic's key does
 * not open, is refused (the server drops the message unhandled): handing it on as a plain value
 * let anyone on the bus send a guest `enable_root_with_password` or `delete_instance` in clear.
 */
function open(value: unknown, key: string): unknown {
  if (typeof value !== 'string') throw new Error('refused an unencrypted RPC value on an encrypted topic');
  try {
    return JSON.parse(decryptText(value, key));
  } catch {
    throw new Error("refused an RPC value that this topic's key does not open");
  }
}

/** Trove's SecureSerializer: API/taskmanager ⇄ taskmanager (taskmanager_rpc_encr_key) and
 * taskmanager/API ⇄ guest (the instance's key). No key: plain messages. */
export function secureSerializer(key: string | null | undefined): RpcSerializer {
  if (!key) return plainSerializer;
  return {
    serializeEntity: (v) => encryptText(dumps(v), key),
    deserializeEntity: async (v) => open(v, key),
    serializeContext: (c) => ({ context: encryptText(dumps(c), key) }),
    deserializeContext: async (c) => {
      const inner = open(c.context, key);
      if (!inner || typeof inner !== 'object' || Array.isArray(inner)) throw new Error('refused an RPC context that is not an encrypted object');
      return inner as Record<string, unknown>;
    },
  };
}

export const CSZ_INSTANCE_ID = 'csz-instance-id';

/** Set by the conductor's side in a deserialized context: the instance whose key opened the message (absent for a plain one). */
export const OPENED_BY = 'trove_ts.opened_by';

/** Trove's ConductorGuestSerializer: a guest's casts to the conductor name their instance, so the
 * conductor can find the key: each value is json.dumps({"entity": b64, "csz-instance-id": id}). */
export function conductorGuestSerializer(key: string | null | undefined, instanceId: string): RpcSerializer {
  if (!key) return plainSerializer;
  return {
    serializeEntity: (v) => JSON.stringify({ entity: encryptText(dumps(v), key), [CSZ_INSTANCE_ID]: instanceId }),
    deserializeEntity: async (v) => open(v, key),
    serializeContext: (c) => ({ context: encryptText(dumps(c), key), [CSZ_INSTANCE_ID]: instanceId }),
    deserializeContext: async (c) => c,
  };
}

export interface ConductorHostOptions {
  /** The instance's RPC key (decrypted instances.encrypted_key), or undefined for an unknown instance. */
  instanceKey(instanceId: string): Promise<string | null | undefined>;
  /** Refuse values that are not encrypted (Trove accepts them). */
  strict?: boolean;
}

/** Trove's ConductorHostSerializer: the conductor's side of conductorGuestSerializer. */
export function conductorHostSerializer(o: ConductorHostOptions): RpcSerializer {
  const keyOf = async (id: unknown): Promise<string> => {
    const key = typeof id === 'string' ? await o.instanceKey(id) : undefined;
    if (!key) throw new Error(`no RPC key for instance ${String(id)}`);
    return key;
  };
  const plain = <T>(v: T): T => {
    if (o.strict) throw new Error('refused an unencrypted RPC value');
    return v;
  };
  return {
    serializeEntity: (v) => v,
    deserializeEntity: async (v) => {
      let wrapped: unknown;
      try {
        wrapped = typeof v === 'string' ? JSON.parse(v) : undefined;
      } catch {
        return plain(v);
      }
      if (!wrapped || typeof wrapped !== 'object' || !(CSZ_INSTANCE_ID in wrapped)) return plain(v);
      const w = wrapped as Record<string, unknown>;
      return JSON.parse(decryptText(String(w.entity), await keyOf(w[CSZ_INSTANCE_ID])));
    },
    serializeContext: (c) => c,
    deserializeContext: async (c) => {
      if (!(CSZ_INSTANCE_ID in c)) {
        // a plain context names no sender: whatever it says of one is dropped
        const { [OPENED_BY]: _claimed, ...rest } = plain(c);
        return rest;
      }
      const id = c[CSZ_INSTANCE_ID];
      const inner: unknown = JSON.parse(decryptText(String(c.context), await keyOf(id)));
      // the instance whose key opened the message, for the handlers to check the arguments against
      return { ...(inner && typeof inner === 'object' ? (inner as Record<string, unknown>) : {}), [OPENED_BY]: id };
    },
  };
}

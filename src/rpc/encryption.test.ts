import test from 'ava';
import { createDecipheriv } from 'node:crypto';
import {
  conductorGuestSerializer,
  conductorHostSerializer,
  decryptText,
  OPENED_BY,
  encryptText,
  plainSerializer,
  rpcKey,
  secureSerializer,
} from './encryption.js';

const SECRET = 'bzH6y0SGmjuoY0FNSTptrhgieGXNDX6PIhvz';
const IV = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
// Made with Trove's crypto_utils.encrypt_data/encode_data (Python `cryptography`) on json.dumps(value),
// IV 00..0f; the ciphertext part was checked with `openssl enc -aes-256-cbc -K <md5 hex as ASCII>`.
const PYTHON_VECTORS: Array<[string, string]> = [
  ['{"service_status": "healthy"}', 'AAECAwQFBgcICQoLDA0OD825eBlC1c8RiSjaqllQCn0OpnXMv5aFcBQHTUIwZJJV'],
  ['"db1"', 'AAECAwQFBgcICQoLDA0OD/ZOftUFPAxULpCqa/xVJ1o='],
  ['null', 'AAECAwQFBgcICQoLDA0ODwcuePxJ3b/6EIy3+ulfFeE='],
];

test('the key is the md5 hexdigest of the secret as 32 ASCII bytes', (t) => {
  t.is(rpcKey(SECRET).toString('ascii'), 'b1d3265cbd11984d9e1852430a4337a4');
  t.is(rpcKey(SECRET).length, 32);
});

test('encryptText matches Trove (Python) byte for byte with a fixed IV', (t) => {
  for (const [plain, b64] of PYTHON_VECTORS) t.is(encryptText(plain, SECRET, IV), b64);
});

test('Trove-made values decrypt', (t) => {
  for (const [plain, b64] of PYTHON_VECTORS) t.is(decryptText(b64, SECRET), plain);
});

test('the format: 16-byte IV prefix, PKCS#7 to a full block, AES-256-CBC', (t) => {
  const raw = Buffer.from(encryptText('0123456789abcdef', SECRET), 'base64');
  t.is(raw.length, 16 + 32, 'a full block of padding after 16 bytes');
  const d = createDecipheriv('aes-256-cbc', rpcKey(SECRET), raw.subarray(0, 16));
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(raw.subarray(16)), d.final()]);
  t.is(plain.subarray(0, 16).toString(), '0123456789abcdef');
  t.deepEqual([...plain.subarray(16)], Array(16).fill(16));
});

test('random IVs: two encryptions differ and both round-trip', (t) => {
  const a = encryptText('sécret ✓', SECRET);
  const b = encryptText('sécret ✓', SECRET);
  t.not(a, b);
  t.is(decryptText(a, SECRET), 'sécret ✓');
  t.is(decryptText(b, SECRET), 'sécret ✓');
});

test('a wrong key or a damaged text throws', (t) => {
  const v = encryptText('{"a": 1}', SECRET, IV); // fixed: a wrong key fails the padding check here
  t.throws(() => decryptText(v, 'another secret'));
  t.throws(() => decryptText('bm90IGVuY3J5cHRlZA==', SECRET), { message: /not an encrypted/ });
});

test('secureSerializer: each value and the context, as SecureSerializer does', async (t) => {
  const s = secureSerializer(SECRET);
  const wire = s.serializeEntity({ fs_path: '/mnt/volume' }) as string;
  t.is(decryptText(wire, SECRET), '{"fs_path":"/mnt/volume"}');
  t.deepEqual(await s.deserializeEntity(wire), { fs_path: '/mnt/volume' });
  t.is(decryptText(s.serializeEntity(undefined) as string, SECRET), 'null');
  const ctx = s.serializeContext({ request_id: 'req-1', tenant: 'p1' });
  t.deepEqual(Object.keys(ctx), ['context']);
  t.deepEqual(await s.deserializeContext(ctx), { request_id: 'req-1', tenant: 'p1' });
  await t.throwsAsync(s.deserializeEntity('plain'), { message: /does not open/ }, 'a plain string is refused (Trove handed it on)');
  await t.throwsAsync(s.deserializeEntity({ password: 'x' }), { message: /unencrypted/ }, 'a plain object is refused');
  await t.throwsAsync(s.deserializeEntity(encryptText('"x"', 'another-key')), { message: /does not open/ }, "another topic's key is refused");
  await t.throwsAsync(s.deserializeContext({ request_id: 'req-1' }), { message: /unencrypted/ }, 'a plain context is refused');
  t.is(await s.deserializeEntity(PYTHON_VECTORS[1]![1]), 'db1');
  t.is(secureSerializer(''), plainSerializer, 'no key, no encryption');
});

test('conductor serializers: the guest names its instance, the conductor finds its key', async (t) => {
  const guest = conductorGuestSerializer(SECRET, 'inst-1');
  const wire = guest.serializeEntity({ service_status: 'healthy' }) as string;
  const outer = JSON.parse(wire) as Record<string, string>;
  t.deepEqual(Object.keys(outer).sort(), ['csz-instance-id', 'entity']);
  t.is(outer['csz-instance-id'], 'inst-1');
  const ctx = guest.serializeContext({ request_id: 'r' });
  t.is(ctx['csz-instance-id'], 'inst-1');

  const asked: string[] = [];
  const host = conductorHostSerializer({ instanceKey: async (id) => (asked.push(id), id === 'inst-1' ? SECRET : undefined) });
  t.deepEqual(await host.deserializeEntity(wire), { service_status: 'healthy' });
  t.deepEqual(await host.deserializeContext(ctx), { request_id: 'r', [OPENED_BY]: 'inst-1' }, 'the context says whose key opened it');
  t.deepEqual(asked, ['inst-1', 'inst-1']);
  t.is(await host.deserializeEntity(42), 42, 'plain values pass');

  const forged = JSON.stringify({ entity: JSON.parse(wire).entity, 'csz-instance-id': 'inst-2' });
  await t.throwsAsync(host.deserializeEntity(forged), { message: /no RPC key for instance inst-2/ });
  const strict = conductorHostSerializer({ instanceKey: async () => SECRET, strict: true });
  await t.throwsAsync(strict.deserializeEntity('healthy'), { message: /unencrypted/ });
  t.deepEqual(await strict.deserializeEntity(wire), { service_status: 'healthy' });
});

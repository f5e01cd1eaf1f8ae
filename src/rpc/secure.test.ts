import test from 'ava';
import { decryptText } from './encryption.js';
import { guestSerializers, secureRpc } from './secure.js';

test('on by default: an instance key stored encrypted under the master key, both ends of a guest topic agree', async (t) => {
  const s = secureRpc({ DEFAULT: { inst_rpc_key_encr_key: 'master-1' } });
  t.true(s.enabled);
  const stored = s.newInstanceKey()!;
  const key = s.instanceKey(stored)!;
  t.is(decryptText(stored, 'master-1'), key);
  t.true(key.length >= 32);
  const wire = s.guest(stored).serializeEntity({ password: 'Secret-1' });
  t.is(typeof wire, 'string');
  t.false(String(wire).includes('Secret-1'), 'the value is not readable on the wire');
  t.deepEqual(await guestSerializers('i-1', key).own.deserializeEntity(wire), { password: 'Secret-1' });
  // guest → conductor: the conductor finds the key by the instance id the value names
  const toConductor = guestSerializers('i-1', key).conductor.serializeEntity({ status: 'healthy' });
  const conductor = s.conductor(async (id) => (id === 'i-1' ? stored : null));
  t.deepEqual(await conductor.deserializeEntity(toConductor), { status: 'healthy' });
  // the taskmanager topic
  const tm = s.taskmanager.serializeEntity({ instance_id: 'x' });
  t.not(tm, { instance_id: 'x' });
  t.deepEqual(await secureRpc({ DEFAULT: {} }).taskmanager.deserializeEntity(tm), { instance_id: 'x' });
});

test('off: no instance keys, plain values', (t) => {
  const s = secureRpc({ DEFAULT: { enable_secure_rpc_messaging: 'false' } });
  t.false(s.enabled);
  t.is(s.newInstanceKey(), null);
  t.deepEqual(s.guest(null).serializeEntity({ a: 1 }), { a: 1 });
  t.is(secureRpc({ DEFAULT: {} }).instanceKey('not-encrypted-with-this-master'), null, 'an unreadable stored key means plain');
});

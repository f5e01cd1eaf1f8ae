import test from 'ava';
import { decodeValue, encodeValue, splitByRestart } from './configurations.js';
import type { ConfigParameterRow } from './datastores.js';

test('values are stored as Trove stores them and typed back by their rule', (t) => {
  t.is(encodeValue(true), '1');
  t.is(encodeValue(false), '0');
  t.is(encodeValue(250), '250');
  t.is(encodeValue(0.5), '0.5');
  t.is(encodeValue('utf8mb4'), 'utf8mb4');
  t.is(decodeValue('1', { data_type: 'boolean' }), true);
  t.is(decodeValue('0', { data_type: 'boolean' }), false);
  t.is(decodeValue('250', { data_type: 'integer' }), 250);
  t.is(decodeValue('0.5', { data_type: 'float' }), 0.5);
  t.is(decodeValue('utf8mb4', { data_type: 'string' }), 'utf8mb4');
  t.is(decodeValue('42', undefined), '42', 'no rule left: the stored text');
});

test('dynamic values apply at once; static ones and ones without a rule wait for a restart', (t) => {
  const r = (name: string, restart_required: boolean) => ({ name, restart_required }) as ConfigParameterRow;
  const out = splitByRestart({ wait_timeout: 90, innodb_open_files: 500, gone: 1 }, [r('wait_timeout', false), r('innodb_open_files', true)]);
  t.deepEqual(out, { dynamic: { wait_timeout: 90 }, static: ['innodb_open_files', 'gone'] });
});

import test from 'ava';
import { UnprocessableEntityError } from '../../../common/errors.js';
import type { ConfigParameterRow } from '../../../db/datastores.js';
import { checkValues } from './values.js';
import { configurationCreate, configurationEdit } from './schemas.js';
import { parseBody } from '../../validate.js';

const rule = (name: string, data_type: string, o: Partial<ConfigParameterRow> = {}): ConfigParameterRow => ({
  id: name,
  name,
  datastore_version_id: 'v1',
  restart_required: false,
  max_size: null,
  min_size: null,
  data_type,
  ...o,
});
const rules = [
  rule('max_connections', 'integer', { min_size: '1', max_size: '100000' }),
  rule('character_set_server', 'string'),
  rule('performance_schema', 'boolean', { restart_required: true }),
  rule('long_query_time', 'float', { min_size: '0', max_size: '3600' }),
];
const label = { datastore: 'mariadb', version: '10.11' };
const refused = (values: Record<string, unknown>, r = rules) => {
  const err = (() => {
    try {
      checkValues(values, r, label);
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  if (!(err instanceof UnprocessableEntityError)) throw new Error(`expected a 422, got ${String(err)}`);
  return err.message;
};

test('values within their rules pass, keyed by the rule name', (t) => {
  t.deepEqual(checkValues({ MAX_CONNECTIONS: 200, character_set_server: 'utf8mb4', performance_schema: true, long_query_time: 2.5 }, rules, label), {
    max_connections: 200,
    character_set_server: 'utf8mb4',
    performance_schema: true,
    long_query_time: 2.5,
  });
  // Python's bool is an int: Trove takes true for an integer (stored as 1)
  t.deepEqual(checkValues({ max_connections: true }, rules, label), { max_connections: 1 });
});

test("refusals are 422 in Trove's words", (t) => {
  t.is(refused({ nope: 1 }), 'The configuration parameter nope is not supported for this datastore: mariadb 10.11.');
  t.is(refused({ max_connections: '200' }), 'The value provided for the configuration parameter max_connections is not of type integer.');
  t.is(refused({ max_connections: 1.5 }), 'The value provided for the configuration parameter max_connections is not of type integer.');
  t.is(refused({ performance_schema: 1 }), 'The value provided for the configuration parameter performance_schema is not of type boolean.');
  t.is(refused({ character_set_server: 5 }), 'The value provided for the configuration parameter character_set_server is not of type string.');
  t.is(refused({ long_query_time: 'x' }), 'The value provided for the configuration parameter long_query_time is not of type float.');
  t.is(refused({ max_connections: 0 }), 'The value for the configuration parameter max_connections is less than the minimum allowed: 1');
  t.is(refused({ max_connections: 100001 }), 'The value for the configuration parameter max_connections is greater than the maximum allowed: 100000');
  t.is(refused({ long_query_time: 4000 }), 'The value for the configuration parameter long_query_time is greater than the maximum allowed: 3600');
  t.is(refused({ max_connections: null }), 'The value provided for the configuration parameter max_connections is not of type integer.');
  t.is(refused({ max_connections: 5 }, []), 'Configuration groups are not supported for this datastore: mariadb 10.11');
});

test('a string value cannot carry a new line into the engine configuration', (t) => {
  t.regex(refused({ character_set_server: 'utf8\ninit_file=/tmp/x' }), /control characters/);
  t.regex(refused({ character_set_server: 'x'.repeat(129) }), /at most 128/);
});

test('request bodies: name and values required, extra keys ignored, Trove validation wording', (t) => {
  const ok = parseBody(configurationCreate, { configuration: { name: 'g', values: {}, datastore: { type: 'mariadb', version: '10.11' }, extra: 1 } });
  t.is(ok.configuration.name, 'g');
  t.throws(() => parseBody(configurationCreate, { configuration: { values: {} } }), {
    message: "Validation error: configuration 'name' is a required property",
  });
  t.throws(() => parseBody(configurationCreate, { configuration: { name: 'g', values: 'x' } }), {
    message: `Validation error: configuration['values'] "x" is not of type 'object'`,
  });
  t.throws(() => parseBody(configurationEdit, { configuration: {} }), { message: "Validation error: configuration 'values' is a required property" });
});

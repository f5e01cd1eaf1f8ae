import test from 'ava';
import { z } from 'zod';
import { parseBody } from './validate.js';
import { ValidationError } from '../common/errors.js';

const schema = z.object({ instance: z.object({ name: z.string(), size: z.number().int().min(1).optional() }).strict() });

test('missing keys and wrong types read like Trove', (t) => {
  t.is(
    t.throws(() => parseBody(schema, { instance: {} }), { instanceOf: ValidationError })?.message,
    "Validation error: instance 'name' is a required property",
  );
  t.is(t.throws(() => parseBody(schema, { instance: { name: 5 } }))?.message, "Validation error: instance['name'] 5 is not of type 'string'");
  t.is(t.throws(() => parseBody(schema, {}))?.message, "Validation error: body 'instance' is a required property");
  t.regex(t.throws(() => parseBody(schema, { instance: { name: 'a', x: 1 } }))?.message ?? '', /'x' was unexpected/);
  t.regex(t.throws(() => parseBody(schema, { instance: { name: 'a', size: 0 } }))?.message ?? '', /instance\['size'\] 0/);
  t.deepEqual(parseBody(schema, { instance: { name: 'a' } }), { instance: { name: 'a' } });
});

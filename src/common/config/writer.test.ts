import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { parseIni, readRawConfig } from './reader.js';
import { renderIni } from './writer.js';

/** Values that end or change a value written as `key = value` by hand. */
const SPECIAL: Record<string, string> = {
  hash_semicolon: 'p#ss;word',
  equals: 'a=b==',
  blanks: '  padded  ',
  double_quoted: '"quoted"',
  single_quoted: "'single'",
  bracket: '[not-a-section]',
  line_break: 'one\ntwo\r\nthree',
  backslash: 'C:\\dir\\file',
  trailing_backslash: 'end\\',
  url: 'rabbit://guest:p%23w;rd@10.0.0.5:5672,guest:x#y@10.0.0.6:5672/vhost?ssl=1',
  unicode: 'pässwört ✓',
  empty: '',
};

test('every value reads back as it was written, in the reader the services and the guest use', (t) => {
  const text = renderIni({ DEFAULT: { ...SPECIAL, number: 30 }, oslo_messaging_rabbit: { rabbit_ha_queues: 'true' } }, 'written by a test');
  t.true(text.startsWith('# written by a test\n[DEFAULT]\n'));
  const back = parseIni(text, 'test');
  t.deepEqual(back.DEFAULT, { ...SPECIAL, number: '30' });
  t.deepEqual(back.oslo_messaging_rabbit, { rabbit_ha_queues: 'true' });
  // and from a file, as readRawConfig reads guest_info.conf
  const dir = mkdtempSync(path.join(tmpdir(), 'ini-writer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'x.conf'), text);
  t.deepEqual(readRawConfig({ files: [path.join(dir, 'x.conf')], env: {} }).DEFAULT, { ...SPECIAL, number: '30' });
  // plain values stay plain `key = value` lines
  t.regex(text, /^number = 30$/m);
});

test('an undefined value is left out; a line break in the comment does not start a line of its own', (t) => {
  const text = renderIni({ DEFAULT: { a: 'x', b: undefined } }, 'one\n[evil]\nc = 1');
  t.deepEqual(parseIni(text, 'test'), { DEFAULT: { a: 'x' } });
  t.is(text.split('\n')[0], '# one [evil] c = 1');
});

test("a value the format cannot carry (the reader's escapes) is refused naming its key, not its value", (t) => {
  for (const value of ['two\\\\backslashes', 'before\\;semicolon', 'before\\#hash']) {
    const err = t.throws(() => renderIni({ DEFAULT: { ok: 'x' }, secrets: { admin_password: value } }), { instanceOf: ConfigError });
    t.regex(err!.message, /^\[secrets\] admin_password: a value the INI format cannot carry/);
    t.false(err!.message.includes(value));
  }
});

import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readRawConfig } from './reader.js';
import { configSection, opt } from './schema.js';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

test('later files win, the environment wins over files, DEFAULT keys stay in DEFAULT', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cfg-'));
  const a = path.join(dir, 'a.conf');
  const b = path.join(dir, 'b.conf');
  writeFileSync(a, '[DEFAULT]\nbind_port = 1\nbind_host = 10.0.0.1\n[database]\nconnection = mysql+pymysql://u:p@h/db\n');
  writeFileSync(b, '[DEFAULT]\nbind_port = 2\n');
  const raw = readRawConfig({ files: [a, b], env: { TROVE__DATABASE__CONNECTION: 'mysql://x:y@z/w', TROVE__DEFAULT__BIND_HOST: '127.0.0.1', OTHER: '1' } });
  t.deepEqual(raw.DEFAULT, { bind_port: '2', bind_host: '127.0.0.1' });
  t.is(raw.database!.connection, 'mysql://x:y@z/w');
});

test('a schema failure names the file, section and key', (t) => {
  const schema = z.object({ workers: opt.int(1, 1, 64) });
  t.is(configSection({ DEFAULT: {}, api: { workers: '8' } }, 'api', schema).workers, 8);
  t.is(configSection({ DEFAULT: {} }, 'api', schema).workers, 1);
  const err = t.throws(() => configSection({ DEFAULT: {}, api: { workers: '100' } }, 'api', schema), { instanceOf: ConfigError });
  t.is(err?.message, 'trove.conf [api] workers: expected an integer from 1 to 64, got 100');
});

import test from 'ava';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EngineFailure, errorLines, errorTail, lastLines, logOffset } from './error-tail.js';

const MARIADB_LOG = `2026-12-03 12:00:00 0 [Note] Starting MariaDB 10.11.6-MariaDB source revision as process 4242
2026-12-03 12:00:00 0 [Note] InnoDB: Using transactional memory
2026-12-03 12:00:00 0 [ERROR] The socket file path is too long (> 107): /tmp/a/very/long/path/mysqld.sock
2026-12-03 12:00:00 0 [ERROR] Aborting
`;

test('mariadbd: the [ERROR] lines without timestamps, "Aborting" left out', (t) => {
  t.deepEqual(errorLines(MARIADB_LOG, 'bracketed'), ['[ERROR] The socket file path is too long (> 107): /tmp/a/very/long/path/mysqld.sock']);
});

test('mariadbd: an error written before its logger is up (`/usr/sbin/mariadbd: ...`)', (t) => {
  const log = "\u0007/usr/sbin/mariadbd: Character set 'klingon' is not a compiled character set\n2026-12-03 12:05:40 0 [ERROR] Aborting\n";
  t.deepEqual(errorLines(log, 'bracketed'), ["Character set 'klingon' is not a compiled character set"]);
});

test('postgres: FATAL/ERROR/PANIC lines with their severity', (t) => {
  const log = `2026-12-03 12:00:00.000 UTC [99] LOG:  starting PostgreSQL 15.5
2026-12-03 12:00:00.001 UTC [99] FATAL:  invalid value for parameter "shared_buffers": "lots"
2026-12-03 12:00:00.002 UTC [99] LOG:  database system is shut down
`;
  t.deepEqual(errorLines(log, 'severity'), ['FATAL: invalid value for parameter "shared_buffers": "lots"']);
  const conf = `2026-12-03 12:00:00.000 UTC [99] LOG:  invalid value for parameter "shared_buffers": "lots"
2026-12-03 12:00:00.001 UTC [99] FATAL:  configuration file "/v/data/conf.d/trove-overrides.conf" contains errors
`;
  t.deepEqual(errorLines(conf, 'severity'), [
    'LOG: invalid value for parameter "shared_buffers": "lots"',
    'FATAL: configuration file "/v/data/conf.d/trove-overrides.conf" contains errors',
  ]);
});

test("redis: the '#' lines and a config file error", (t) => {
  const log = `1234:C 03 Dec 2026 12:00:00.000 * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
1234:M 03 Dec 2026 12:00:00.001 # Can't handle RDB format version 12
*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
Reading the configuration file, at line 3
>>> 'maxmemory lots'
Bad directive or wrong number of arguments
`;
  t.deepEqual(errorLines(log, 'hash', 10), [
    "Can't handle RDB format version 12",
    '*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***',
    'Reading the configuration file, at line 3',
    ">>> 'maxmemory lots'",
    'Bad directive or wrong number of arguments',
  ]);
});

test('only the lines written since the start began; at most `max`, the newest; secrets scrubbed', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'et-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'e.log');
  writeFileSync(f, '2026-12-03 11:00:00 0 [ERROR] an old failure\n');
  const from = logOffset(f);
  appendFileSync(
    f,
    ['one', 'two', "Access denied for user 'x' (using password: YES) password=hunter2", 'four'].map((m) => `2026-12-03 12:00:00 0 [ERROR] ${m}\n`).join(''),
  );
  t.is(errorTail(f, 'bracketed', from, 3), "[ERROR] two; [ERROR] Access denied for user 'x' (using password: YES) password=***; [ERROR] four");
  t.is(errorTail(path.join(dir, 'none.log'), 'bracketed'), '');
});

test('lastLines: the last non-empty lines of a stderr on one line; EngineFailure scrubs message and tail', (t) => {
  t.is(lastLines('a\n\nb\nc\nd\n', 2), 'c; d');
  t.is(
    lastLines("mariadbd: Character set 'klingon' is not a compiled character set\n2026-12-03 12:05:40 0 [ERROR] Aborting\n"),
    "mariadbd: Character set 'klingon' is not a compiled character set",
  );
  const e = new EngineFailure('mysql://root:s3cret@db/x failed', 'IDENTIFIED BY "pw1"');
  t.is(e.message, 'mysql://root:***@db/x failed');
  t.is(e.logTail, "IDENTIFIED BY '***'");
});

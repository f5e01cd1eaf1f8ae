// The log format: human lines only for a person at a terminal; secrets redacted in both formats.
import test from 'ava';
import { Writable } from 'node:stream';
import { chooseLogFormat, createLogger } from './log.js';

test('pretty only when stdout and stderr are terminals and JSON was not asked for', (t) => {
  t.is(chooseLogFormat({ stdoutIsTTY: true, stderrIsTTY: true }), 'pretty');
  t.is(chooseLogFormat({ json: true, stdoutIsTTY: true, stderrIsTTY: true }), 'json', '--log-json');
  t.is(chooseLogFormat({ stdoutIsTTY: false, stderrIsTTY: true }), 'json', 'stdout redirected or piped');
  t.is(chooseLogFormat({ stdoutIsTTY: true, stderrIsTTY: undefined }), 'json', 'stderr redirected (isTTY is then undefined)');
  t.is(chooseLogFormat({}), 'json');
});

test('JSON lines keep the redaction', (t) => {
  const lines: string[] = [];
  const log = createLogger('t', { destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  log.info({ password: 'hunter2', url: 'x' }, 'hello');
  const rec = JSON.parse(lines[0]!);
  t.is(rec.msg, 'hello');
  t.is(rec.password, '***');
});

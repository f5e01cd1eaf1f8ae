// The log format: human lines only for a person at a terminal; secrets redacted in both formats.
import test from 'ava';
import { Writable } from 'node:stream';
import { chooseLogFormat, createLogger, scrubSecrets } from './log.js';

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

test('JSON lines redact every secret key at the top and one or two levels down, identifiers and bracketed names alike', (t) => {
  const lines: string[] = [];
  const log = createLogger('t', { destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  log.info(
    { token: 'a', 'x-auth-token': 'b', ctx: { password: 'c', 'x-subject-token': 'd' }, req: { headers: { authorization: 'e', 'x-auth-token': 'f' } } },
    'm',
  );
  const rec = JSON.parse(lines[0]!);
  t.deepEqual(
    [rec.token, rec['x-auth-token'], rec.ctx.password, rec.ctx['x-subject-token'], rec.req.headers.authorization, rec.req.headers['x-auth-token']],
    ['***', '***', '***', '***', '***', '***'],
  );
});

test('scrubSecrets: URL credentials, key=value secrets, SQL password literals, bearer tokens', (t) => {
  t.is(scrubSecrets('could not reach rabbit://guest:guest@10.0.0.1:5672/'), 'could not reach rabbit://guest:***@10.0.0.1:5672/');
  t.is(scrubSecrets('password=hunter2 user=app'), 'password=*** user=app');
  t.is(scrubSecrets('{"root_password": "s3cret", "x": 1}'), '{"root_password": ***, "x": 1}');
  t.is(scrubSecrets("CREATE USER 'app'@'%' IDENTIFIED BY 'pw'"), "CREATE USER 'app'@'%' IDENTIFIED BY '***'");
  t.is(scrubSecrets("ALTER ROLE app PASSWORD 'pw'"), "ALTER ROLE app PASSWORD '***'");
  t.is(scrubSecrets('Authorization: Bearer abc.def'), 'Authorization: ***');
  t.is(scrubSecrets('transport_url = rabbit://u:p@h/'), 'transport_url = ***');
  t.is(scrubSecrets('a\u0007b\n\tc'), 'ab\n\tc');
  t.is(scrubSecrets('mariadbd: [ERROR] Unknown character set: klingon'), 'mariadbd: [ERROR] Unknown character set: klingon');
});

test('scrubSecrets keeps the end of a long text', (t) => {
  const s = scrubSecrets(`${'x'.repeat(5000)}END`, 100);
  t.is(s.length, 100);
  t.true(s.startsWith('…'));
  t.true(s.endsWith('END'));
});

test('background lines (sync: false) reach stderr within a flush period while the process runs, and every one at exit', async (t) => {
  const { spawn } = await import('node:child_process');
  const url = new URL('./log.ts', import.meta.url).href;
  // one line, then 3 s alive: it must show before the exit; then 500 lines and an immediate exit
  const script = `const { createLogger } = await import(${JSON.stringify(url)});
    const log = createLogger('bg', { sync: false });
    log.info('first');
    await new Promise((r) => setTimeout(r, 3000));
    for (let i = 0; i < 500; i++) log.info({ i }, 'many');
    process.exit(0);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let firstSeenAlive = false;
  child.stderr.on('data', (d: Buffer) => {
    err += d;
    if (err.includes('"msg":"first"') && child.exitCode === null) firstSeenAlive = true;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.is(code, 0, err);
  t.true(firstSeenAlive, 'the first line was written before the process ended (periodic flush)');
  t.is(err.split('\n').filter((l) => l.includes('"msg":"many"')).length, 500, 'nothing lost at exit');
});

// The access line's keys are fixed and none is a secret's: its logger may skip the redaction pass.
import test from 'ava';
import { Writable } from 'node:stream';
import type { Context } from 'koa';
import { createLogger, SECRET_KEYS } from '../../common/log.js';
import { ACCESS_LINE_KEYS, accessLog } from './access-log.js';

test('an access line holds exactly its fixed keys, none of them a secret, and nothing of the request headers', async (t) => {
  const lines: string[] = [];
  const log = createLogger('t', { destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const ctx = {
    state: { requestId: 'req-1', context: { projectId: 'p', userId: 'u' } },
    method: 'GET',
    path: '/v1.0/p/instances',
    status: 200,
    ip: '127.0.0.1',
    headers: { 'x-auth-token': 'secret-token' },
  } as unknown as Context;
  await accessLog(log)(ctx, async () => {});
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  const own = Object.keys(rec).filter((k) => !['level', 'time', 'service', 'pid', 'name', 'msg'].includes(k));
  t.deepEqual(own.sort(), [...ACCESS_LINE_KEYS].sort());
  t.deepEqual(
    own.filter((k) => (SECRET_KEYS as readonly string[]).includes(k)),
    [],
  );
  t.false(lines[0]!.includes('secret-token'));
  t.is(rec.path, '/v1.0/p/instances');
});

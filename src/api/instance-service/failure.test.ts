import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger } from '../../common/log.js';
import { undoAll } from './failure.js';

test('every undo step runs even when one fails, then the first failure is raised', async (t) => {
  const lines: string[] = [];
  const log = createLogger('test', { destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const ran: string[] = [];
  const step = (name: string, fail = false) =>
    [
      name,
      async () => {
        ran.push(name);
        if (fail) throw new Error(`${name} failed`);
      },
    ] as [string, () => Promise<void>];
  await t.throwsAsync(undoAll(log, [step('quota', true), step('task', true), step('access')]), { message: 'quota failed' });
  t.deepEqual(ran, ['quota', 'task', 'access']);
  t.is(lines.filter((l) => l.includes('could not give back')).length, 2);
  await t.notThrowsAsync(undoAll(log, [step('task')]));
});

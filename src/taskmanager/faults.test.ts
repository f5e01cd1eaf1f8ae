import test from 'ava';
import { faultDetails, faultMessage } from './faults.js';
import { GuestFailedError, WaitError } from './waits.js';

test("a guest's failure: the details are its reason, its log tail and the server console, no stack trace, secrets scrubbed", (t) => {
  const err = new GuestFailedError('mariadbd exited while starting: mariadbd: [ERROR] bad', "[ERROR] bad\nIDENTIFIED BY 'pw'");
  t.is(err.message, 'the database could not start: mariadbd exited while starting: mariadbd: [ERROR] bad');
  const d = faultDetails(err, '{"msg":"prepare failed","transport_url":"rabbit://u:secret@h/"}', ['cleanup: server x: gone']);
  t.is(
    d,
    [
      'the database could not start: mariadbd exited while starting: mariadbd: [ERROR] bad',
      '--- guest log tail ---',
      "[ERROR] bad\nIDENTIFIED BY '***'",
      '--- server console (guest agent log), last 40 lines ---',
      '{"msg":"prepare failed","transport_url":***}',
      'cleanup: server x: gone',
    ].join('\n'),
  );
  t.notRegex(d, /secret|pw'/);
});

test('a guest that sent no reason says so; a wait error keeps its message; a taskmanager bug keeps its stack', (t) => {
  t.is(new GuestFailedError(null).message, 'the guest could not start the database (failed to spawn) and sent no reason');
  t.is(
    faultDetails(new WaitError('The guest agent did not report the database ready in time.'), ''),
    'The guest agent did not report the database ready in time.',
  );
  t.regex(faultDetails(new TypeError('x is undefined'), ''), /^TypeError: x is undefined\n\s+at /);
  t.is(faultMessage('Restart failed: password=hunter2'), 'Restart failed: password=***');
});

import test from 'ava';
import { className, contextKeys, contextOf, failureOf, parseFailure, reply, request, unwrap, wrap } from './envelope.js';

// What oslo.messaging 2.0 (Python) puts on the wire for a call from a Trove taskmanager.
const PYTHON_CALL = JSON.stringify({
  'oslo.version': '2.0',
  'oslo.message': JSON.stringify({
    _msg_id: '5e0a7b0ccd0a4f3c9d1b2f4e6a8c0d1e',
    _reply_q: 'reply_0f1e2d3c4b5a69788796a5b4c3d2e1f0',
    _timeout: null,
    _unique_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    method: 'get_filesystem_stats',
    args: { fs_path: '/var/lib/mysql' },
    version: '1.0',
    _context_request_id: 'req-0a1b',
    _context_tenant: 'p1',
    _context_is_admin: false,
  }),
});

test('an oslo 2.0 message from Python unwraps to its method, args, version and context', (t) => {
  const m = unwrap(Buffer.from(PYTHON_CALL));
  t.is(m.method, 'get_filesystem_stats');
  t.deepEqual(m.args, { fs_path: '/var/lib/mysql' });
  t.is(m.version, '1.0');
  t.deepEqual(contextOf(m), { request_id: 'req-0a1b', tenant: 'p1', is_admin: false });
});

test('wrap is oslo.version 2.0 with the message as a JSON string; unwrap reverses it', (t) => {
  const body = wrap({ method: 'restart', args: {} });
  const outer = JSON.parse(body.toString()) as Record<string, unknown>;
  t.deepEqual(Object.keys(outer), ['oslo.version', 'oslo.message']);
  t.is(outer['oslo.version'], '2.0');
  t.is(typeof outer['oslo.message'], 'string');
  t.deepEqual(unwrap(body), { method: 'restart', args: {} });
  t.deepEqual(unwrap(Buffer.from('{"method":"old","args":{}}')), { method: 'old', args: {} }, 'oslo 1.0: not wrapped');
  t.throws(() => unwrap(Buffer.from('[1]')), { message: /not an oslo message/ });
  t.throws(() => unwrap(Buffer.from('{"oslo.version":"2.0","oslo.message":"3"}')), { message: /not an oslo message/ });
  t.throws(() => unwrap(Buffer.from('nope')));
});

test('request: casts carry method/args/version/_unique_id/_context_*; calls add _msg_id, _reply_q, _timeout (s)', (t) => {
  const cast = request('heartbeat', { instance_id: 'i' }, '1.0', { request_id: 'r' });
  t.deepEqual(Object.keys(cast).sort(), ['_context_request_id', '_unique_id', 'args', 'method', 'version']);
  t.regex(cast._unique_id, /^[0-9a-f]{32}$/);
  const call = request('restart', {}, '1.0', {}, { msgId: 'm', replyQ: 'reply_x', timeoutMs: 15_000 });
  t.like(call, { _msg_id: 'm', _reply_q: 'reply_x', _timeout: 15 });
  t.deepEqual(contextKeys({ a: 1 }), { _context_a: 1 });
});

test('reply: result, failure, ending, _msg_id, _unique_id', (t) => {
  const r = reply('m1', { ok: true }, null);
  t.deepEqual(Object.keys(r), ['result', 'failure', 'ending', '_msg_id', '_unique_id']);
  t.like(r, { result: { ok: true }, failure: null, ending: true, _msg_id: 'm1' });
  t.is(reply('m1', 'ignored', '{}').result, null, 'a failure carries no result');
});

test('failureOf names the class: its name, else its constructor', (t) => {
  class NotSupportedError extends Error {
    override name = 'NotSupportedError';
  }
  class GuestError extends Error {}
  t.is(className(new NotSupportedError('x')), 'NotSupportedError');
  t.is(className(new GuestError('x')), 'GuestError');
  t.is(className(new TypeError('x')), 'TypeError');
  t.deepEqual(JSON.parse(failureOf(new NotSupportedError('no users here'))), {
    class: 'NotSupportedError',
    module: 'trove_ts.rpc',
    message: 'no users here',
    tb: [],
    args: ['no users here'],
    kwargs: {},
  });
  t.is(JSON.parse(failureOf('a string')).class, 'Error');
});

test('parseFailure reads Python failures and survives odd ones', (t) => {
  const py = JSON.stringify({
    class: 'DatastoreOperationNotSupported',
    module: 'trove.common.exception',
    message: "The 'create_user' operation is not supported for the 'redis' datastore.",
    tb: ['Traceback (most recent call last):\n', '  File "x.py"\n'],
    args: [],
    kwargs: { operation: 'create_user', datastore: 'redis' },
  });
  t.like(parseFailure(py), { class: 'DatastoreOperationNotSupported', module: 'trove.common.exception', kwargs: { datastore: 'redis' } });
  t.is(parseFailure(py).tb.length, 2);
  t.like(parseFailure('not json'), { class: 'RemoteError', message: 'not json' });
  t.like(parseFailure({ class: 'X', message: 'already parsed' }), { class: 'X', message: 'already parsed', tb: [] });
});

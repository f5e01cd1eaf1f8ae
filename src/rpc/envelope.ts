// oslo.messaging's wire format: {"oslo.version": "2.0", "oslo.message": "<json>"}; inside, the
// method, args, version and `_context_*` keys; calls add _msg_id/_reply_q/_timeout; replies carry
// result or failure (a JSON string with the remote class and message).
import { randomUUID } from 'node:crypto';

export interface RequestMessage {
  method: string;
  args: Record<string, unknown>;
  version: string;
  _unique_id: string;
  _msg_id?: string;
  _reply_q?: string;
  /** seconds */
  _timeout?: number;
  [context: `_context_${string}`]: unknown;
}

export interface ReplyMessage {
  result: unknown;
  failure: string | null;
  ending: boolean;
  _msg_id: string;
  _unique_id: string;
}

/** oslo's serialize_remote_exception: the reply's `failure`, JSON-encoded. */
export interface Failure {
  class: string;
  module: string;
  message: string;
  tb: string[];
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** The module our failures name (Python callers turn an unknown module into their RemoteError). */
export const FAILURE_MODULE = 'trove_ts.rpc';

/** A uuid4 in hex, as oslo makes _msg_id and _unique_id. */
export const newId = (): string => randomUUID().replaceAll('-', '');

export function wrap(inner: object): Buffer {
  return Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) }));
}

/** The inner message; throws on a body that is not an oslo message. */
export function unwrap(body: Buffer): Record<string, unknown> {
  const outer: unknown = JSON.parse(body.toString('utf8'));
  if (!outer || typeof outer !== 'object' || Array.isArray(outer)) throw new Error('not an oslo message');
  const o = outer as Record<string, unknown>;
  if (typeof o['oslo.message'] !== 'string') return o; // oslo 1.0 messages were not wrapped
  const inner: unknown = JSON.parse(o['oslo.message']);
  if (!inner || typeof inner !== 'object' || Array.isArray(inner)) throw new Error('not an oslo message');
  return inner as Record<string, unknown>;
}

export function contextKeys(context: Record<string, unknown>): Record<`_context_${string}`, unknown> {
  return Object.fromEntries(Object.entries(context).map(([k, v]) => [`_context_${k}`, v]));
}

export function contextOf(message: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(message)
      .filter(([k]) => k.startsWith('_context_'))
      .map(([k, v]) => [k.slice('_context_'.length), v]),
  );
}

export function request(
  method: string,
  args: Record<string, unknown>,
  version: string,
  context: Record<string, unknown>,
  call?: { msgId: string; replyQ: string; timeoutMs: number },
): RequestMessage {
  const m: RequestMessage = { method, args, version, _unique_id: newId(), ...contextKeys(context) };
  if (call) Object.assign(m, { _msg_id: call.msgId, _reply_q: call.replyQ, _timeout: call.timeoutMs / 1000 });
  return m;
}

export function reply(msgId: string, result: unknown, failure: string | null): ReplyMessage {
  return { result: failure ? null : result, failure, ending: true, _msg_id: msgId, _unique_id: newId() };
}

/** The remote class name of an error: its `name`, or its constructor's when name was left 'Error'. */
export function className(err: Error): string {
  if (err.name && err.name !== 'Error') return err.name;
  return err.constructor?.name || 'Error';
}

export function failureOf(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const f: Failure = { class: className(e), module: FAILURE_MODULE, message: e.message, tb: [], args: [e.message], kwargs: {} };
  return JSON.stringify(f);
}

/** A reply's failure from any oslo sender (a JSON string; tolerant of an already-parsed object). */
export function parseFailure(failure: unknown): Failure {
  let f: unknown = failure;
  if (typeof failure === 'string') {
    try {
      f = JSON.parse(failure);
    } catch {
      f = { message: failure };
    }
  }
  const o = (f && typeof f === 'object' ? f : {}) as Partial<Failure>;
  return {
    class: typeof o.class === 'string' ? o.class : 'RemoteError',
    module: typeof o.module === 'string' ? o.module : '',
    message: typeof o.message === 'string' ? o.message : String(o.message ?? ''),
    tb: Array.isArray(o.tb) ? o.tb.map(String) : [],
    args: Array.isArray(o.args) ? o.args : [],
    kwargs: o.kwargs && typeof o.kwargs === 'object' ? o.kwargs : {},
  };
}

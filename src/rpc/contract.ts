// Every RPC verb is declared once, in contracts/<topic>.ts: call or cast, since which version,
// argument and result schemas. The caller's typed stub and the server's handler map derive from it.
import type { z } from 'zod';
import type { RpcSerializer } from './encryption.js';

export interface Verb<A extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  kind: 'call' | 'cast';
  /** The API version that added the verb; the message carries it and the server checks it. */
  since: string;
  args: A;
  result: R;
}

export type Contract = Record<string, Verb>;

export function defineContract<C extends Contract>(contract: C): C {
  return contract;
}

/** oslo's version_is_compatible: same major, and the server's minor (then revision) at least the caller's. */
export function versionCompatible(serverVersion: string, requested: string): boolean {
  const [sMaj = 0, sMin = 0, sRev = 0] = serverVersion.split('.').map(Number);
  const [rMaj = 0, rMin = 0, rRev = 0] = requested.split('.').map(Number);
  if ([sMaj, sMin, sRev, rMaj, rMin, rRev].some(Number.isNaN) || sMaj !== rMaj) return false;
  return sMin > rMin || (sMin === rMin && sRev >= rRev);
}

/** The version a server of this contract implements: the newest `since`. */
export function contractVersion(contract: Contract): string {
  return Object.values(contract)
    .map((v) => v.since)
    .reduce((best, v) => (versionCompatible(v, best) ? v : best), '1.0');
}

export interface CallOptions {
  timeoutMs?: number;
  /** Route to one server of the topic (`<topic>.<server>`). */
  server?: string;
  /** A cast to every server of the topic (`<topic>_fanout`). */
  fanout?: boolean;
  /** The request context sent as `_context_*` keys (overrides the stub's). */
  context?: Record<string, unknown>;
}

/** The newest version a topic's server takes (oslo's version_cap), and in words who set it and
 * what lifts it, for the refusal of a newer verb. */
export interface VersionCap {
  version: string;
  /** e.g. "the guest agent of instance X speaks RPC 1.1" */
  holder: string;
  /** e.g. "upgrade the agent" */
  remedy: string;
}

/** How a stub talks to its topic: the serializer (encryption key) and the default context. */
export interface StubOptions {
  serializer?: RpcSerializer;
  context?: Record<string, unknown>;
  /** Read before each message: a verb newer than the cap is refused (RpcVersionCapError) before it is sent. */
  versionCap?: () => Promise<VersionCap | undefined>;
}

type Args<V extends Verb> = z.input<V['args']>;
type Answer<V extends Verb> = Promise<V['kind'] extends 'call' ? z.output<V['result']> : void>;

/** The typed client: a call resolves to its result, a cast to void once the broker has it.
 * Verbs whose arguments are all optional can be called without them (`guest.restart()`). */
export type Stub<C extends Contract> = {
  [K in keyof C]: Record<never, never> extends Args<C[K]>
    ? (args?: Args<C[K]>, options?: CallOptions) => Answer<C[K]>
    : (args: Args<C[K]>, options?: CallOptions) => Answer<C[K]>;
};

export interface HandlerContext {
  /** The caller's request context (`_context_*` keys, decrypted). */
  context: Record<string, unknown>;
  method: string;
}

/** The server's handler map: one handler per verb, or TypeScript fails the build. */
export type Handlers<C extends Contract> = {
  [K in keyof C]: (args: z.output<C[K]['args']>, ctx: HandlerContext) => Promise<C[K]['kind'] extends 'call' ? z.input<C[K]['result']> : void>;
};

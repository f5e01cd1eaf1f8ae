// A short-lived ioredis connection for the tests that talk to a Redis server as a client: one
// attempt, no retries, no offline queue and no ready check, so a refused connection, AUTH or
// command fails at once with the server's words; closed after the work.
import { Redis } from 'ioredis';

export interface RedisTarget {
  /** 127.0.0.1 unless given. */
  host?: string;
  port: number;
  /** An ACL user (AUTH <username> <password>); none: the default user. */
  username?: string;
  password?: string | undefined;
  /** RESP2 or RESP3 (ioredis's own default otherwise). */
  protocol?: 2 | 3;
}

export async function openRedis(o: RedisTarget): Promise<Redis> {
  const r = new Redis({
    ...o,
    host: o.host ?? '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    disableClientInfo: true,
  });
  r.on('error', () => undefined);
  await r.connect();
  return r;
}

/** `fn` on a connection of its own, closed after. */
export async function withRedis<T>(o: RedisTarget, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = await openRedis(o);
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

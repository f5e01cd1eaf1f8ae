// The agent's connection to its Redis: its own ACL user over the unix socket, no retries (a failed
// command is reported, not queued).
import { Redis } from 'ioredis';
import { ADMIN_USER } from './conf-files.js';

export class RedisAdmin {
  constructor(
    private readonly socket: string,
    private readonly password: () => string,
  ) {}

  async connect(): Promise<Redis> {
    const r = new Redis({
      path: this.socket,
      username: ADMIN_USER,
      password: this.password(),
      lazyConnect: true,
      connectTimeout: 3000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      disableClientInfo: true,
    });
    r.on('error', () => undefined); // surfaced by the command that fails
    await r.connect();
    return r;
  }

  async run<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = await this.connect();
    try {
      return await fn(r);
    } finally {
      r.disconnect();
    }
  }
}

// Redis's guest log: the server's log file (SYS, always on; the server writes it to standard output,
// which the agent appends to redis.log). Redis has no statement log to enable: its slow log
// (SLOWLOG GET) is an in-memory list of the slowest commands, not a file, so it is not a guest log.
import type { LogDefinition, LogState, Logs } from '../../capabilities.js';
import type { RedisConfig, RedisPaths } from './config.js';

export class RedisLogs implements Logs {
  constructor(
    private readonly c: RedisConfig,
    private readonly paths: RedisPaths,
  ) {}

  definitions(): LogDefinition[] {
    const exposed = this.c.guest_log_exposed_logs.split(',').map((s) => s.trim());
    return [{ name: 'server', type: 'SYS', file: this.paths.logFile, exposed: exposed.includes('server') }];
  }

  async state(name: string): Promise<LogState> {
    throw new Error(`no USER log '${name}'`);
  }

  async setEnabled(name: string): Promise<LogState> {
    throw new Error(`no USER log '${name}'`);
  }
}

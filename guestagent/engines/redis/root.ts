// Root on Redis: the `default` user (what clients reach with AUTH <password>) switched on with a
// password, or off again, with every data command but none that reaches past the instance or takes
// its management from the agent (ROOT_COMMAND_RULES). The change is saved to the ACL file so it
// holds across restarts.
import { randomBytes } from 'node:crypto';
import { InvalidValueError, type Root } from '../../capabilities.js';
import type { RedisAdmin } from './admin-client.js';

export const ROOT_USER = 'default';

/**
 * Root's commands: everything but Redis's @dangerous category, and of that back only what a DBA
 * uses on its own data and server (INFO, KEYS, FLUSHALL, SAVE, SLOWLOG, CLIENT, MONITOR, CONFIG
 * GET, ...). Left out: CONFIG SET and REWRITE (dir, dbfilename: files anywhere the server's OS
 * user writes; the configuration group is the way to change settings), MODULE (native code as
 * that user), DEBUG, REPLICAOF/SLAVEOF (a source of the caller's choosing: its data, a rogue
 * master's module), MIGRATE (connections to any host, the cloud's metadata service included),
 * SYNC/PSYNC/REPLCONF, FAILOVER and SHUTDOWN (replication and the server are the agent's), ACL
 * but WHOAMI/CAT/GENPASS (no rights given back, no other user's hashes), RESTORE (a payload
 * Redis does not check by default), CLUSTER, PFDEBUG, PFSELFTEST. A category applied later (the
 * lifecycle's -@write, -@admin) narrows it further. Redis answers NOPERM. Only commands Redis 6
 * knows too (an unknown one fails the whole ACL SETUSER): no SORT_RO, SORT does the same.
 */
export const ROOT_COMMAND_RULES: readonly string[] = [
  '+@all',
  '-@dangerous',
  '+info',
  '+role',
  '+keys',
  '+sort',
  '+flushdb',
  '+flushall',
  '+swapdb',
  '+lastsave',
  '+save',
  '+bgsave',
  '+bgrewriteaof',
  '+slowlog',
  '+latency',
  '+client',
  '+monitor',
  '+config|get',
  '+config|resetstat',
];

export class RedisRoot implements Root {
  constructor(
    private readonly admin: RedisAdmin,
    /** The lifecycle's limits on the clients' user (read-only, replica) applied again after a change, and saved (the ACL file 0600 again). */
    private readonly reapplyLimits: () => Promise<void> = async () => undefined,
    /** The channel rules the server knows (`&*` from Redis 6.2 on, none before). */
    private readonly channels: () => string[] = () => ['&*'],
  ) {}

  async enableRoot(password?: string): Promise<{ name: string; password: string }> {
    const pw = password ?? randomBytes(18).toString('base64url');
    if (pw.length === 0 || pw.length > 512 || /[\x00-\x20]/.test(pw))
      throw new InvalidValueError('A Redis password must be 1 to 512 characters without spaces or control characters.');
    await this.admin.run(async (r) => {
      // Each rule is its own argument: nothing in the password can add a rule.
      await r.call('ACL', 'SETUSER', ROOT_USER, 'on', 'resetpass', `>${pw}`, '~*', ...this.channels(), ...ROOT_COMMAND_RULES);
      await r.call('ACL', 'SAVE');
    });
    await this.reapplyLimits();
    return { name: ROOT_USER, password: pw };
  }

  async disableRoot(): Promise<void> {
    await this.admin.run(async (r) => {
      await r.call('ACL', 'SETUSER', ROOT_USER, 'off', 'resetpass');
      await r.call('ACL', 'SAVE');
    });
    await this.reapplyLimits();
  }

  async isRootEnabled(): Promise<boolean> {
    return this.admin.run(async (r) => {
      const flags = (await r.call('ACL', 'GETUSER', ROOT_USER)) as unknown[];
      const at = flags.indexOf('flags');
      const list = (flags[at + 1] as string[] | undefined) ?? [];
      return list.includes('on') && !list.includes('nopass');
    });
  }
}

// Root on Redis: the `default` user (what clients reach with AUTH <password>) switched on with a
// password, or off again. The change is saved to the ACL file so it holds across restarts.
import { randomBytes } from 'node:crypto';
import { InvalidValueError, type Root } from '../../capabilities.js';
import type { RedisAdmin } from './admin-client.js';

export const ROOT_USER = 'default';

export class RedisRoot implements Root {
  constructor(
    private readonly admin: RedisAdmin,
    /** The lifecycle's limits on the clients' user (read-only, replica) applied again after a change. */
    private readonly reapplyLimits: () => Promise<void> = async () => undefined,
  ) {}

  async enableRoot(password?: string): Promise<{ name: string; password: string }> {
    const pw = password ?? randomBytes(18).toString('base64url');
    if (pw.length === 0 || pw.length > 512 || /[\x00-\x20]/.test(pw)) throw new InvalidValueError('A Redis password must be 1 to 512 characters without spaces or control characters.');
    await this.admin.run(async (r) => {
      // Each rule is its own argument: nothing in the password can add a rule.
      await r.call('ACL', 'SETUSER', ROOT_USER, 'on', 'resetpass', `>${pw}`, '~*', '&*', '+@all');
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

// A Keystone trust delegation that records what it was asked (the exact Keystone requests are
// nock-tested in src/clients/openstack/keystone.test.ts): for the API's trusts (backup schedules,
// automatic upgrades) in tests without a Keystone.
import type { TokenInfo, TrustDelegation } from '../../src/clients/identity.js';
import { BackendRequestError } from '../../src/clients/errors.js';
import { SecretBox } from '../../src/common/secret-box.js';
import type { Harness } from './api-harness.js';

export class RecordingTrusts implements TrustDelegation {
  readonly created: Array<{ token: string; user: TokenInfo }> = [];
  readonly deleted: Array<{ token: string; trustId: string }> = [];
  /** Keystone refuses to make trusts (a token that cannot delegate) */
  refuse = false;
  /** Keystone's answer to a DELETE by a project member who is not the trustor */
  notTrustor = new Set<string>();
  /** `trustor`: who a trust-scoped token acts as */
  constructor(private readonly trustor: { userId: string; projectId: string }) {}
  async createTrust(token: string, user: TokenInfo): Promise<string> {
    if (this.refuse) throw new BackendRequestError('identity', 403, 'You are not authorized to perform the requested action.');
    this.created.push({ token, user });
    return `trust-${this.created.length}`;
  }
  async deleteTrust(token: string, trustId: string): Promise<void> {
    if (this.notTrustor.has(token)) throw new BackendRequestError('identity', 403, 'You are not authorized to perform the requested action.');
    this.deleted.push({ token, trustId });
  }
  async trustToken(trustId: string): Promise<{ token: string; info: TokenInfo }> {
    const { userId, projectId } = this.trustor;
    return {
      token: `scoped-${trustId}`,
      info: { userId, userName: 'u', projectId, projectName: projectId, roles: ['member'], expiresAt: new Date(), catalog: [] },
    };
  }
}

/**
 * Points a test API at Swift storage (the caller's token in the URL's stead) with RecordingTrusts
 * for `trustor` and a sealing box, as trust-making routes need; the harness's own back at teardown.
 */
export function useSwiftTrusts(
  h: Harness,
  t: { teardown(fn: () => void): void },
  trustor: { userId: string; projectId: string },
): { trusts: RecordingTrusts; box: SecretBox } {
  const trusts = new RecordingTrusts(trustor);
  const box = new SecretBox('test-secret');
  const saved = { storage: h.deps.backupStorage, trusts: h.deps.trusts };
  h.deps.backupStorage = async (context) => ({ driver: 'swift', url: 'http://swift.test/v1/AUTH_x', auth_token: context.authToken });
  h.deps.trusts = { delegation: trusts, box };
  t.teardown(() => Object.assign(h.deps, { backupStorage: saved.storage, trusts: saved.trusts }));
  return { trusts, box };
}

// A Keystone trust delegation that records what it was asked (the exact Keystone requests are
// nock-tested in src/clients/openstack/keystone.test.ts): for the API's trusts (backup schedules,
// automatic upgrades) in tests without a Keystone.
import type { TokenInfo, TrustDelegation } from '../../src/clients/identity.js';
import { BackendRequestError } from '../../src/clients/errors.js';

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

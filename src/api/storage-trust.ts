// Backup storage for work the taskmanager does later without the caller's token (scheduled
// backups, the pre-upgrade backup of an automatic upgrade): the local store needs nothing; the
// user's Swift needs a Keystone trust from the caller to the service user (impersonation, the
// caller's roles), its id sealed with taskmanager_rpc_encr_key for the taskmanager to use.
import type { Context } from 'koa';
import { ForbiddenError, ServiceUnavailableError } from '../common/errors.js';
import { BackendRequestError } from '../clients/errors.js';
import { InvalidTokenError, type TrustDelegation } from '../clients/identity.js';
import { requestContext, tokenInfo, type ApiDeps } from './deps.js';

export interface DelegatedStorage {
  storage_driver: 'local' | 'swift';
  /** the Keystone user who delegated (the trustor) */
  user_id: string | null;
  /** the sealed trust id (swift only) */
  sealed_credential: string | null;
  trustId?: string;
}

/**
 * The caller's backup storage for later: with Swift, a new trust (`what` names the work in the
 * errors: "scheduled backups"). A token that cannot delegate is a 403.
 */
export async function delegateStorage(ctx: Context, deps: ApiDeps, what: string): Promise<DelegatedStorage> {
  const context = requestContext(ctx);
  const token = tokenInfo(ctx);
  const storage = await deps.backupStorage(context, token);
  if (storage.driver !== 'swift') return { storage_driver: storage.driver, user_id: token.userId, sealed_credential: null };
  if (!deps.trusts)
    throw new ServiceUnavailableError(`${what[0]!.toUpperCase()}${what.slice(1)} into Swift need Keystone trusts, which this service has no Keystone for.`);
  let trustId: string;
  try {
    trustId = await deps.trusts.delegation.createTrust(context.authToken, token);
  } catch (err) {
    if (err instanceof BackendRequestError && err.status === 403) {
      throw new ForbiddenError(
        `Keystone refused a trust for the ${what} (${err.message}); a token from a trust or a restricted application credential cannot delegate.`,
      );
    }
    throw err;
  }
  return { storage_driver: 'swift', user_id: token.userId, sealed_credential: deps.trusts.box.seal(JSON.stringify({ trust_id: trustId })), trustId };
}

/**
 * Deletes a sealed trust with the caller's token; when Keystone refuses it (the caller is another
 * member of the project, not the trustor), with a token scoped to the trust itself, which acts as
 * the trustor. A trust that no longer gives a token is gone already. Resolves the trust id.
 */
export async function removeTrust(ctx: Context, deps: ApiDeps, sealed: string, holder: string): Promise<string> {
  if (!deps.trusts) throw new ServiceUnavailableError(`This ${holder} holds a Keystone trust, and this service has no Keystone to delete it with.`);
  const { trust_id } = JSON.parse(deps.trusts.box.open(sealed)) as { trust_id: string };
  await deleteTrust(deps.trusts.delegation, requestContext(ctx).authToken, trust_id);
  return trust_id;
}

async function deleteTrust(trusts: TrustDelegation, callerToken: string, trustId: string): Promise<void> {
  try {
    await trusts.deleteTrust(callerToken, trustId);
  } catch (err) {
    if (!(err instanceof BackendRequestError && err.status === 403)) throw err;
    let scoped: string;
    try {
      scoped = (await trusts.trustToken(trustId)).token;
    } catch (e) {
      if (e instanceof InvalidTokenError) return;
      throw e;
    }
    await trusts.deleteTrust(scoped, trustId);
  }
}

/** Undoes a trust made for a request that then failed (best effort). */
export async function dropNewTrust(ctx: Context, deps: ApiDeps, d: DelegatedStorage): Promise<void> {
  if (d.trustId) await deps.trusts?.delegation.deleteTrust(requestContext(ctx).authToken, d.trustId).catch(() => undefined);
}

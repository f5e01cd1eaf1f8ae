// The Keystone trusts of backup schedules against the lab's real Keystone: a user's trust to the
// trove-ts service user, a token scoped to it (acting as the user, on the user's project), the
// trust deleted with that token (how the taskmanager retires a schedule whose instance is gone)
// and with the user's token (DELETE of a schedule), and a deleted trust gives no token.
import test from 'ava';
import { DEMO, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { identityConfig } from '../../src/clients/openstack/config.js';
import { KeystoneServiceIdentity, KeystoneTokenValidator, KeystoneTrusts } from '../../src/clients/openstack/keystone.js';
import { InvalidTokenError } from '../../src/clients/identity.js';

const c = identityConfig(keystoneConfig());
const service = new KeystoneServiceIdentity(c.service);
const trusts = new KeystoneTrusts(c.service, service);
const validator = new KeystoneTokenValidator(c.authtoken.auth_url!, service, { cacheSeconds: 0, maxEntries: 10 });

async function demo() {
  const ks = await keystoneAdmin();
  const { token } = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  return { token, info: await validator.validate(token) };
}

test.serial('a trust from the user to the service user gives the service a token acting as the user; the trust-scoped token can delete it', async (t) => {
  const user = await demo();
  const trustId = await trusts.createTrust(user.token, user.info);
  t.regex(trustId, /^[0-9a-f]{32}$/);
  const scoped = await trusts.trustToken(trustId);
  t.not(scoped.token, user.token);
  t.is(scoped.info.userId, user.info.userId, "impersonation: the token is the trustor's");
  t.is(scoped.info.projectId, user.info.projectId);
  t.deepEqual([...scoped.info.roles].sort(), [...user.info.roles].sort());
  await trusts.deleteTrust(scoped.token, trustId);
  await t.throwsAsync(trusts.trustToken(trustId), { instanceOf: InvalidTokenError });
  await t.notThrowsAsync(trusts.deleteTrust(user.token, trustId), 'already gone is fine');
});

test.serial('the user deletes the trust with their own token (DELETE of a schedule)', async (t) => {
  const user = await demo();
  const trustId = await trusts.createTrust(user.token, user.info);
  await trusts.deleteTrust(user.token, trustId);
  await t.throwsAsync(trusts.trustToken(trustId), { instanceOf: InvalidTokenError });
});

import test from 'ava';
import nock from 'nock';
import { KeystoneServiceIdentity, KeystoneTokenValidator, KeystoneTrusts } from './keystone.js';
import { InvalidTokenError } from '../identity.js';
import { BackendRequestError, BackendUnavailableError } from '../errors.js';

const KS = 'http://keystone.test:5000';
const creds = {
  auth_url: `${KS}/v3`,
  auth_type: 'password',
  username: 'trove',
  password: 'svc-secret',
  project_name: 'service',
  user_domain_name: 'Default',
  project_domain_name: 'Default',
  region_name: 'RegionOne',
  interface: 'public',
  http_connect_timeout: 5,
};
const inOneHour = () => new Date(Date.now() + 3600_000).toISOString();
const userToken = (expires = inOneHour()) => ({
  token: {
    expires_at: expires,
    user: { id: 'u1', name: 'alice' },
    project: { id: 'p1', name: 'demo' },
    roles: [{ id: 'r', name: 'member' }],
    catalog: [{ type: 'compute', name: 'nova', endpoints: [{ url: 'http://nova:8774/v2.1', region_id: 'RegionOne', interface: 'public' }] }],
  },
});

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

function issueService(times = 1, expires = inOneHour()) {
  return nock(KS)
    .post('/v3/auth/tokens', (b) => b.auth.identity.password.user.name === 'trove' && b.auth.scope.project.name === 'service')
    .times(times)
    .reply(201, { token: { ...userToken(expires).token, user: { id: 's', name: 'trove' } } }, { 'X-Subject-Token': 'svc-token' });
}

test.serial('validates a token once and serves it from the cache until its cache time', async (t) => {
  issueService();
  const identity = new KeystoneServiceIdentity(creds);
  let now = Date.now();
  const v = new KeystoneTokenValidator(KS, identity, { cacheSeconds: 300, maxEntries: 10, now: () => now });
  const check = nock(KS, { reqheaders: { 'x-auth-token': 'svc-token', 'x-subject-token': 'user-tok' } })
    .get('/v3/auth/tokens')
    .times(2)
    .reply(200, userToken());
  const info = await v.validate('user-tok');
  t.deepEqual([info.userId, info.projectId, info.roles], ['u1', 'p1', ['member']]);
  t.is(info.catalog[0]!.endpoints[0]!.region, 'RegionOne');
  await v.validate('user-tok');
  t.false(check.isDone(), 'second validation came from the cache');
  now += 301_000;
  await v.validate('user-tok');
  t.true(check.isDone());
});

test.serial('an unknown or expired token is InvalidTokenError; Keystone down is BackendUnavailable', async (t) => {
  issueService();
  const identity = new KeystoneServiceIdentity(creds);
  const v = new KeystoneTokenValidator(KS, identity, { cacheSeconds: 300, maxEntries: 10 });
  nock(KS)
    .get('/v3/auth/tokens')
    .reply(404, { error: { code: 404 } });
  await t.throwsAsync(v.validate('nope'), { instanceOf: InvalidTokenError });
  nock(KS)
    .get('/v3/auth/tokens')
    .reply(200, userToken(new Date(Date.now() - 1000).toISOString()));
  await t.throwsAsync(v.validate('old'), { instanceOf: InvalidTokenError });
  nock(KS).get('/v3/auth/tokens').reply(503, 'down');
  const err = await t.throwsAsync(v.validate('x-secret-token'), { instanceOf: BackendUnavailableError });
  t.true(err?.retryable);
  t.false(err?.message.includes('x-secret-token'));
  t.is(v.cacheSize, 0);
});

test.serial('a refused service token is renewed once', async (t) => {
  issueService(2);
  const identity = new KeystoneServiceIdentity(creds);
  const v = new KeystoneTokenValidator(KS, identity, { cacheSeconds: 0, maxEntries: 10 });
  nock(KS).get('/v3/auth/tokens').reply(401, {}).get('/v3/auth/tokens').reply(200, userToken());
  t.is((await v.validate('tok')).userName, 'alice');
  t.true(nock.isDone());
});

test.serial('the cache is bounded (LRU)', async (t) => {
  issueService();
  const v = new KeystoneTokenValidator(KS, new KeystoneServiceIdentity(creds), { cacheSeconds: 300, maxEntries: 2 });
  nock(KS).get('/v3/auth/tokens').times(3).reply(200, userToken());
  for (const tok of ['a', 'b', 'c']) await v.validate(tok);
  t.is(v.cacheSize, 2);
});

test.serial('the service token is shared by concurrent callers and renewed before expiry', async (t) => {
  const scope = issueService(1, new Date(Date.now() + 50_000).toISOString()); // < 60 s left: renew on next use
  const identity = new KeystoneServiceIdentity(creds);
  const tokens = await Promise.all([identity.token(), identity.token(), identity.token()]);
  t.deepEqual(tokens, ['svc-token', 'svc-token', 'svc-token']);
  t.true(scope.isDone());
  const again = issueService(1);
  await identity.token();
  t.true(again.isDone(), 'a token with under a minute left is renewed');
  t.is(await identity.endpoint({ type: 'compute' }), 'http://nova:8774/v2.1');
  await t.throwsAsync(identity.endpoint({ type: 'volumev3' }), { message: /No endpoint of type volumev3/ });
});

test.serial('wrong service credentials say so without the password', async (t) => {
  nock(KS).post('/v3/auth/tokens').reply(401, {});
  const err = await t.throwsAsync(new KeystoneServiceIdentity(creds).token());
  t.regex(err!.message, /refused the service credentials/);
  t.false(err!.message.includes('svc-secret'));
});

// ---- trusts (scheduled backups into the user's Swift)

test.serial('createTrust: POST /v3/OS-TRUST/trusts with the user token, trustor = user, trustee = the service user, impersonating', async (t) => {
  issueService();
  const trusts = new KeystoneTrusts(creds, new KeystoneServiceIdentity(creds));
  let seen: any;
  const create = nock(KS, { reqheaders: { 'x-auth-token': 'user-tok' } })
    .post('/v3/OS-TRUST/trusts', (b) => ((seen = b), true))
    .reply(201, { trust: { id: 'trust-1', trustor_user_id: 'u1' } });
  const user = { userId: 'u1', userName: 'alice', projectId: 'p1', projectName: 'demo', roles: ['member', 'reader'], expiresAt: new Date(), catalog: [] };
  t.is(await trusts.createTrust('user-tok', user), 'trust-1');
  t.true(create.isDone());
  t.deepEqual(seen, {
    trust: {
      trustor_user_id: 'u1',
      trustee_user_id: 's',
      project_id: 'p1',
      roles: [{ name: 'member' }, { name: 'reader' }],
      impersonation: true,
      allow_redelegation: false,
    },
  });
});

test.serial('createTrust: a refusal is a BackendRequestError with the status, never the token', async (t) => {
  issueService();
  const trusts = new KeystoneTrusts(creds, new KeystoneServiceIdentity(creds));
  nock(KS)
    .post('/v3/OS-TRUST/trusts')
    .reply(403, { error: { code: 403, message: 'You are not authorized' } });
  const user = { userId: 'u1', userName: 'alice', projectId: 'p1', projectName: 'demo', roles: ['member'], expiresAt: new Date(), catalog: [] };
  const err = await t.throwsAsync(trusts.createTrust('secret-user-token', user), { instanceOf: BackendRequestError });
  t.is(err?.status, 403);
  t.false(err!.message.includes('secret-user-token'));
});

test.serial('trustToken: the service password scoped to the trust; the token and its catalog come back', async (t) => {
  const trusts = new KeystoneTrusts(creds, new KeystoneServiceIdentity(creds));
  let seen: any;
  nock(KS)
    .post('/v3/auth/tokens', (b) => ((seen = b), true))
    .reply(
      201,
      {
        token: {
          ...userToken().token,
          catalog: [{ type: 'object-store', name: 'swift', endpoints: [{ url: 'http://swift:8080/v1/AUTH_p1', region_id: 'RegionOne', interface: 'public' }] }],
        },
      },
      { 'X-Subject-Token': 'trust-scoped' },
    );
  const r = await trusts.trustToken('trust-1');
  t.is(r.token, 'trust-scoped');
  t.is(r.info.userId, 'u1', 'impersonation: the token acts as the trustor');
  t.is(r.info.catalog[0]!.endpoints[0]!.url, 'http://swift:8080/v1/AUTH_p1');
  t.deepEqual(seen, {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'trove', password: 'svc-secret', domain: { name: 'Default' } } } },
      scope: { 'OS-TRUST:trust': { id: 'trust-1' } },
    },
  });
  nock(KS)
    .post('/v3/auth/tokens')
    .reply(401, { error: { code: 401 } });
  const err = await t.throwsAsync(trusts.trustToken('trust-gone'), { instanceOf: InvalidTokenError });
  t.false(err!.message.includes('svc-secret'));
});

test.serial('deleteTrust: DELETE with the given token; a trust already gone is fine', async (t) => {
  const trusts = new KeystoneTrusts(creds, new KeystoneServiceIdentity(creds));
  const del = nock(KS, { reqheaders: { 'x-auth-token': 'user-tok' } })
    .delete('/v3/OS-TRUST/trusts/trust-1')
    .reply(204);
  await trusts.deleteTrust('user-tok', 'trust-1');
  t.true(del.isDone());
  nock(KS)
    .delete('/v3/OS-TRUST/trusts/trust-2')
    .reply(404, { error: { code: 404 } });
  await t.notThrowsAsync(trusts.deleteTrust('user-tok', 'trust-2'));
  nock(KS).delete('/v3/OS-TRUST/trusts/trust-3').reply(503, 'down');
  await t.throwsAsync(trusts.deleteTrust('user-tok', 'trust-3'), { instanceOf: BackendUnavailableError });
});

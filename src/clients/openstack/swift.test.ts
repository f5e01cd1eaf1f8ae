// The Swift driver's HTTP mapping, against the in-memory Swift of test/helpers/fake-swift.ts: the shared
// object-store contract, then what only Swift has (headers, the SLO manifest, bulk delete, errors).
import test from 'ava';
import { createHash } from 'node:crypto';
import nock from 'nock';
import { objectStoreContract, chunked, randomBinary } from '../../../test/helpers/object-store.contract.js';
import { ObjectNotFoundError } from '../object-store.js';
import { BackendUnavailableError } from '../errors.js';
import { SwiftObjectStore } from './swift.js';
import { ACCOUNT, FakeSwift, HOST } from '../../../test/helpers/fake-swift.js';
let swift: FakeSwift;
const store = (token = async (_fresh?: boolean) => 'tok') => new SwiftObjectStore({ endpoint: async () => `${HOST}${ACCOUNT}`, token });

test.before(() => nock.disableNetConnect());
test.beforeEach(() => {
  nock.cleanAll();
  swift = new FakeSwift();
  swift.start();
});
test.after.always(() => nock.cleanAll());

objectStoreContract(test.serial as typeof test, async () => store(), 'swift');

test.serial('swift: segments and manifest on the wire: token, SLO manifest put, metadata headers', async (t) => {
  const s = store();
  await s.ensureContainer('database_backups');
  const data = randomBinary(5000);
  const put = await s.putLargeObject('database_backups', 'b1.xbstream.gz.enc', chunked(data, 700), { segmentSize: 2000, metadata: { 'wrapped-key': 'abc' } });
  t.is(put.segments, 3);
  const wire = swift.requests.map((r) => `${r.method} ${r.path}`);
  t.deepEqual(wire, [
    'PUT /v1/AUTH_p1/database_backups',
    'PUT /v1/AUTH_p1/database_backups_segments',
    'PUT /v1/AUTH_p1/database_backups_segments/b1.xbstream.gz.enc/00000001',
    'PUT /v1/AUTH_p1/database_backups_segments/b1.xbstream.gz.enc/00000002',
    'PUT /v1/AUTH_p1/database_backups_segments/b1.xbstream.gz.enc/00000003',
    'PUT /v1/AUTH_p1/database_backups/b1.xbstream.gz.enc?multipart-manifest=put',
  ]);
  const manifest = swift.requests.at(-1)!;
  t.is(manifest.headers['x-object-meta-wrapped-key'], 'abc');
  t.is(manifest.headers['x-object-meta-sha256'], createHash('sha256').update(data).digest('hex'));
  t.true(swift.requests.every((r) => r.headers['x-auth-token'] === 'tok'));
  t.is(await s.locationOf('database_backups', 'b1.xbstream.gz.enc'), `${HOST}${ACCOUNT}/database_backups/b1.xbstream.gz.enc`);
  swift.requests = [];
  await s.deleteObject('database_backups', 'b1.xbstream.gz.enc');
  t.deepEqual(
    swift.requests.map((r) => `${r.method} ${r.path}`),
    ['HEAD /v1/AUTH_p1/database_backups/b1.xbstream.gz.enc', 'DELETE /v1/AUTH_p1/database_backups/b1.xbstream.gz.enc?multipart-manifest=delete'],
  );
  t.is(swift.containers.get('database_backups_segments')!.size, 0);
});

test.serial('swift: a segment upload that fails (503) removes the segments already written, no manifest', async (t) => {
  const s = store();
  await s.ensureContainer('bk');
  swift.failSegmentPut = 3;
  const err = await t.throwsAsync(s.putLargeObject('bk', 'x', chunked(randomBinary(10_000), 500), { segmentSize: 2000, concurrency: 2 }), {
    instanceOf: BackendUnavailableError,
  });
  t.true(err!.retryable);
  t.is(swift.containers.get('bk_segments')!.size, 0);
  t.false(swift.containers.get('bk')!.has('x'));
  t.false(swift.requests.some((r) => r.path.includes('multipart-manifest=put')));
});

test.serial('swift: a 401 retries once with a fresh token; 404 is ObjectNotFoundError; listings page by marker', async (t) => {
  const fresh: boolean[] = [];
  const s = store(async (f) => (fresh.push(Boolean(f)), f ? 'tok' : 'stale'));
  await s.ensureContainer('c');
  t.deepEqual(fresh, [false, true]);
  await t.throwsAsync(store().getObject('c', 'missing'), { instanceOf: ObjectNotFoundError });
  for (const n of ['a', 'b', 'c', 'd', 'e']) await store().putObject('c', n, chunked(Buffer.from(`object ${n}!`)));
  t.deepEqual(
    (await store().listObjects('c')).map((o) => o.name),
    ['a', 'b', 'c', 'd', 'e'],
  );
  t.is((await store().listObjects('c'))[0]!.lastModified, '2026-01-02T03:04:05.123Z');
});

// The Swift driver against the real Swift of the cloud lab, with the demo user's Keystone token and
// the catalog's object-store URL: the shared object-store contract, then what Swift itself holds
// for a static large object (manifest, segments) and after its delete.
import anyTest from 'ava';
import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { SwiftObjectStore } from '../../src/clients/openstack/swift.js';
import { ObjectNotFoundError } from '../../src/clients/object-store.js';
import { chunked, objectStoreContract, randomBinary } from '../helpers/object-store.contract.js';
import { cloudTest, demoIdentity, driverOptions, rawClient } from '../helpers/cloud-lab.js';

const test = await cloudTest(anyTest);
const demo = demoIdentity();
const store = () => new SwiftObjectStore(driverOptions(demo, 'object-store'));
const prefix = `c${process.pid}-`;

test.after.always('remove the containers this run made', async () => {
  const swift = await rawClient(demo, 'object-store');
  const r = await swift.get(`/?format=json&prefix=${prefix}`);
  for (const c of (r.data ?? []) as Array<{ name: string }>) {
    const objs = await swift.get(`/${encodeURIComponent(c.name)}?format=json`);
    for (const o of (objs.data ?? []) as Array<{ name: string }>)
      await swift.delete(`/${encodeURIComponent(c.name)}/${o.name.split('/').map(encodeURIComponent).join('/')}`);
    await swift.delete(`/${encodeURIComponent(c.name)}`);
  }
});

objectStoreContract(test, async () => store(), 'real-swift');

test("real-swift: the endpoint is the demo project's account from the catalog", async (t) => {
  const url = await driverOptions(demo, 'object-store').endpoint();
  t.is(url, `http://127.0.0.1:8080/v1/AUTH_${(await demo.info()).projectId}`);
  t.is(await store().locationOf('database_backups', 'b1.xbstream'), `${url}/database_backups/b1.xbstream`);
});

test('real-swift: an SLO of three segments is a manifest in Swift; delete removes it and its segments', async (t) => {
  const s = store();
  const c = `${prefix}slo`;
  await s.ensureContainer(c);
  const data = randomBinary(2_500_000);
  const put = await s.putLargeObject(c, 'backups/full.xbstream', chunked(data, 64 * 1024), { segmentSize: 1024 * 1024, metadata: { 'backup-id': 'b-42' } });
  t.is(put.segments, 3);
  t.is(put.size, data.length);

  const swift = await rawClient(demo, 'object-store');
  const head = await swift.head(`/${c}/backups/full.xbstream`);
  t.is(head.status, 200);
  t.is(String(head.headers['x-static-large-object']).toLowerCase(), 'true');
  t.is(Number(head.headers['content-length']), data.length);
  t.is(head.headers['x-object-meta-backup-id'], 'b-42');
  t.is(head.headers['x-object-meta-sha256'], createHash('sha256').update(data).digest('hex'));
  t.is(String(head.headers.etag).replace(/"/g, ''), put.etag, "the driver's SLO etag is Swift's");
  const manifest = await swift.get(`/${c}/backups/full.xbstream?multipart-manifest=get&format=raw`);
  t.deepEqual(
    (manifest.data as Array<{ path: string; size_bytes: number }>).map((e) => [e.path, e.size_bytes]),
    [
      [`/${c}_segments/backups/full.xbstream/00000001`, 1024 * 1024],
      [`/${c}_segments/backups/full.xbstream/00000002`, 1024 * 1024],
      [`/${c}_segments/backups/full.xbstream/00000003`, data.length - 2 * 1024 * 1024],
    ],
  );
  t.true((await buffer(await s.getObject(c, 'backups/full.xbstream'))).equals(data));

  await s.deleteObject(c, 'backups/full.xbstream');
  t.is((await swift.head(`/${c}/backups/full.xbstream`)).status, 404);
  const segs = await swift.get(`/${c}_segments?format=json`);
  t.deepEqual(segs.status === 204 ? [] : segs.data, [], 'no segment left in Swift');
  await t.throwsAsync(s.headObject(c, 'backups/full.xbstream'), { instanceOf: ObjectNotFoundError });
});

test('real-swift: a token Swift refuses is renewed once', async (t) => {
  const fresh: boolean[] = [];
  const s = new SwiftObjectStore({
    endpoint: driverOptions(demo, 'object-store').endpoint,
    token: async (f) => (fresh.push(Boolean(f)), f ? demo.token() : 'gAAAA-not-a-token'),
  });
  await s.ensureContainer(`${prefix}renew`);
  t.deepEqual(fresh, [false, true]);
});

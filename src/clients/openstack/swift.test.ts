// The Swift driver's HTTP mapping, against a small Swift kept in memory behind nock: the shared
// object-store contract, then what only Swift has (headers, the SLO manifest, bulk delete, errors).
import test from 'ava';
import { createHash } from 'node:crypto';
import nock from 'nock';
import { objectStoreContract, chunked, randomBinary } from '../../../test/helpers/object-store.contract.js';
import { ObjectNotFoundError } from '../object-store.js';
import { BackendUnavailableError } from '../errors.js';
import { SwiftObjectStore } from './swift.js';

const HOST = 'http://swift.test:8080';
const ACCOUNT = '/v1/AUTH_p1';
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

interface Obj {
  data: Buffer;
  headers: Record<string, string>;
  manifest?: Array<{ path: string; etag: string; size_bytes: number }>;
}

/** Enough of Swift for the driver: containers, objects, user metadata, SLO put/get/delete, listings. */
class FakeSwift {
  containers = new Map<string, Map<string, Obj>>();
  requests: Array<{ method: string; path: string; headers: Record<string, unknown> }> = [];
  /** Answers 503 to the n-th segment PUT (1-based). */
  failSegmentPut?: number;
  private segmentPuts = 0;

  start(): void {
    const self = this;
    for (const method of ['GET', 'PUT', 'POST', 'HEAD', 'DELETE']) {
      nock(HOST)
        .persist()
        .intercept((uri) => uri.startsWith(ACCOUNT), method)
        .reply(function (uri, body) {
          return self.handle(method, uri, body as string, this.req.headers as Record<string, string>);
        });
    }
  }

  private body(s: string): Buffer {
    // nock hands a body that is not valid UTF-8 over as hex
    if (/^([0-9a-f]{2})*$/.test(s) && s.length > 0) {
      const b = Buffer.from(s, 'hex');
      if (!Buffer.from(b.toString('utf8'), 'utf8').equals(b)) return b;
    }
    return Buffer.from(s, 'utf8');
  }

  private handle(method: string, uri: string, raw: string, headers: Record<string, string>): [number, unknown, Record<string, string>?] {
    this.requests.push({ method, path: uri, headers });
    if (headers['x-auth-token'] !== 'tok') return [401, 'no'];
    const url = new URL(uri, HOST);
    const parts = url.pathname.slice(ACCOUNT.length + 1).split('/');
    const cname = decodeURIComponent(parts[0]!);
    const oname = parts.slice(1).map(decodeURIComponent).join('/');
    const c = this.containers.get(cname);
    if (!oname) {
      if (method === 'PUT') {
        if (!c) this.containers.set(cname, new Map());
        return [c ? 202 : 201, ''];
      }
      if (!c) return [404, 'Not Found'];
      const prefix = url.searchParams.get('prefix') ?? '';
      const marker = url.searchParams.get('marker') ?? '';
      const rows = [...c.keys()].sort().filter((n) => n.startsWith(prefix) && n > marker).slice(0, 2).map((n) => {
        const o = c.get(n)!;
        return { name: n, bytes: o.data.length, hash: md5(o.data), last_modified: '2026-01-02T03:04:05.123456', content_type: 'application/octet-stream' };
      });
      return [200, rows];
    }
    const meta = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('x-object-meta-')));
    if (method === 'PUT') {
      if (!c) return [404, 'Not Found'];
      const data = this.body(raw);
      if (cname.endsWith('_segments') && ++this.segmentPuts === this.failSegmentPut) return [503, 'Service Unavailable'];
      if (url.searchParams.get('multipart-manifest') === 'put') {
        const manifest = JSON.parse(data.toString('utf8')) as Obj['manifest'] & object;
        for (const e of manifest) {
          const [, sc, ...sn] = e.path.split('/');
          const seg = this.containers.get(sc!)?.get(sn.join('/'));
          if (!seg || md5(seg.data) !== e.etag || seg.data.length !== e.size_bytes) return [400, 'bad segment'];
        }
        c.set(oname, { data: Buffer.alloc(0), manifest, headers: { ...meta(headers), 'content-type': headers['content-type'] ?? '' } });
        return [201, '', { etag: `"${md5(manifest.map((e) => e.etag).join(''))}"` }];
      }
      c.set(oname, { data, headers: { ...meta(headers), 'content-type': headers['content-type'] ?? 'application/octet-stream' } });
      return [201, '', { etag: md5(data) }];
    }
    const o = c?.get(oname);
    if (!o) return [404, 'Not Found'];
    const bytes = () => (o.manifest ? Buffer.concat(o.manifest.map((e) => this.resolve(e.path)!.data)) : o.data);
    const out = () => ({
      ...o.headers,
      etag: o.manifest ? `"${md5(o.manifest.map((e) => e.etag).join(''))}"` : md5(o.data),
      'content-length': String(bytes().length),
      'last-modified': 'Fri, 02 Jan 2026 03:04:05 GMT',
      ...(o.manifest ? { 'x-static-large-object': 'True' } : {}),
    });
    if (method === 'HEAD') return [200, '', out()];
    if (method === 'GET') return [200, bytes(), out()];
    if (method === 'POST') {
      o.headers = { 'content-type': o.headers['content-type']!, ...meta(headers) };
      return [202, ''];
    }
    // DELETE
    if (url.searchParams.get('multipart-manifest') === 'delete' && o.manifest) {
      for (const e of o.manifest) {
        const [, sc, ...sn] = e.path.split('/');
        this.containers.get(sc!)?.delete(sn.join('/'));
      }
      c!.delete(oname);
      return [200, { 'Number Deleted': o.manifest.length + 1, 'Response Status': '200 OK', Errors: [] }];
    }
    c!.delete(oname);
    return [204, ''];
  }

  private resolve(p: string): Obj | undefined {
    const [, sc, ...sn] = p.split('/');
    return this.containers.get(sc!)?.get(sn.join('/'));
  }
}

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
  t.deepEqual(swift.requests.map((r) => `${r.method} ${r.path}`), [
    'HEAD /v1/AUTH_p1/database_backups/b1.xbstream.gz.enc',
    'DELETE /v1/AUTH_p1/database_backups/b1.xbstream.gz.enc?multipart-manifest=delete',
  ]);
  t.is(swift.containers.get('database_backups_segments')!.size, 0);
});

test.serial('swift: a segment upload that fails (503) removes the segments already written, no manifest', async (t) => {
  const s = store();
  await s.ensureContainer('bk');
  swift.failSegmentPut = 3;
  const err = await t.throwsAsync(s.putLargeObject('bk', 'x', chunked(randomBinary(10_000), 500), { segmentSize: 2000, concurrency: 2 }), { instanceOf: BackendUnavailableError });
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
  t.deepEqual((await store().listObjects('c')).map((o) => o.name), ['a', 'b', 'c', 'd', 'e']);
  t.is((await store().listObjects('c'))[0]!.lastModified, '2026-01-02T03:04:05.123Z');
});

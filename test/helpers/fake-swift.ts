// A small Swift kept in memory behind nock, for the Swift clients' HTTP mapping tests (the
// control plane's driver and the guest's backup writer): containers, objects, user metadata, SLO
// manifests (put, get, multipart-manifest=delete), listings paged by marker.
import { createHash } from 'node:crypto';
import nock from 'nock';

export const HOST = 'http://swift.test:8080';
export const ACCOUNT = '/v1/AUTH_p1';
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

interface Obj {
  data: Buffer;
  headers: Record<string, string>;
  manifest?: Array<{ path: string; etag: string; size_bytes: number }>;
}

/** Enough of Swift for the driver: containers, objects, user metadata, SLO put/get/delete, listings. */
export class FakeSwift {
  containers = new Map<string, Map<string, Obj>>();
  requests: Array<{ method: string; path: string; headers: Record<string, unknown> }> = [];
  /** Answers 503 to the n-th segment PUT (1-based). */
  failSegmentPut?: number;
  private segmentPuts = 0;

  start(): void {
    // nock calls the reply function with its own `this` (the request); the store is reached through self
    // eslint-disable-next-line @typescript-eslint/no-this-alias
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
      const rows = [...c.keys()]
        .sort()
        .filter((n) => n.startsWith(prefix) && n > marker)
        .slice(0, 2)
        .map((n) => {
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

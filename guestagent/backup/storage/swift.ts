// Backups in the tenant's Swift, written by the guest with the token the backup call carried:
// segments into <container>_segments, then the SLO manifest with the backup's metadata. The
// segmenting, concurrency and cleanup are src/common/segmented-upload.ts (shared with the control
// plane's driver); this file only knows Swift's paths and headers. The guest may not import
// src/clients, hence this small second Swift client. Errors name the request, never the token.
import { Readable } from 'node:stream';
import axios, { isAxiosError, type AxiosRequestConfig } from 'axios';
import { DEFAULT_SEGMENT_SIZE, segmentContainer, uploadSegments } from '../../../src/common/segmented-upload.js';
import { CHECKSUM_KEY, checkObjectName, normaliseMetadata } from '../../../src/common/stored-object.js';
import { BackupIntegrityError } from '../run-restore.js';
import type { BackupStorage, OpenedBackup, StoredBackup, WriteOptions } from './storage.js';

export interface SwiftAccess {
  /** The object-store endpoint of the tenant's account, e.g. https://swift/v1/AUTH_<project>. */
  endpoint: string;
  token: () => Promise<string>;
  timeoutMs?: number;
}

const META = 'x-object-meta-';
const path = (container: string, name?: string) =>
  `/${encodeURIComponent(container)}${name === undefined ? '' : `/${name.split('/').map(encodeURIComponent).join('/')}`}`;

/** An object's size and metadata from its response headers. */
function described(h: Record<string, unknown>): Omit<OpenedBackup, 'body'> {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase().startsWith(META)) metadata[k.toLowerCase().slice(META.length)] = decodeURIComponent(String(v));
  return { size: Number(h['content-length'] ?? 0), metadata };
}

export class SwiftRequestError extends Error {
  constructor(
    what: string,
    readonly status: number | undefined,
  ) {
    super(`Swift ${what} failed: ${status === undefined ? 'no answer' : `HTTP ${status}`}`);
    this.name = 'SwiftRequestError';
  }
}

export class SwiftBackupStorage implements BackupStorage {
  readonly driver = 'swift';
  private readonly base: string;
  private readonly http;

  constructor(private readonly a: SwiftAccess) {
    this.base = a.endpoint.replace(/\/+$/, '');
    this.http = axios.create({ timeout: a.timeoutMs ?? 120_000, maxBodyLength: Infinity, maxContentLength: Infinity });
  }

  private async req<T = unknown>(what: string, c: AxiosRequestConfig) {
    try {
      return await this.http.request<T>({ ...c, url: `${this.base}${c.url}`, headers: { ...(c.headers ?? {}), 'X-Auth-Token': await this.a.token() } });
    } catch (e) {
      if (isAxiosError(e)) {
        if (e.response?.data instanceof Readable) e.response.data.destroy();
        throw new SwiftRequestError(what, e.response?.status);
      }
      throw e;
    }
  }

  async write(container: string, name: string, body: Readable, o: WriteOptions): Promise<StoredBackup> {
    checkObjectName(container, name);
    const meta = normaliseMetadata(o.metadata);
    const segC = segmentContainer(container);
    for (const c of [container, segC]) await this.req(`PUT ${c}`, { method: 'PUT', url: path(c), headers: { 'Content-Length': '0' } });
    const up = await uploadSegments(body, {
      name,
      segmentSize: o.segmentSize || DEFAULT_SEGMENT_SIZE,
      concurrency: o.concurrency,
      putSegment: async (seg, stream) => {
        const r = await this.req(`PUT ${segC}/${seg}`, { method: 'PUT', url: path(segC, seg), data: stream, headers: { 'Transfer-Encoding': 'chunked' } });
        return { etag: String(r.headers.etag ?? '') };
      },
      removeSegment: async (seg) => void (await this.req(`DELETE ${segC}/${seg}`, { method: 'DELETE', url: path(segC, seg) })),
    });
    const manifest = up.segments.map((s) => ({ path: `/${segC}/${s.name}`, etag: s.md5, size_bytes: s.size }));
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
    try {
      for (const [k, v] of Object.entries({ ...meta, ...normaliseMetadata(o.finalMetadata?.()), [CHECKSUM_KEY]: up.sha256 }))
        headers[`${META}${k}`] = encodeURIComponent(v);
      if (manifest.length === 0) throw new Error(`backup ${name} is empty: the backup tool wrote nothing`);
      const r = await this.req(`PUT ${container}/${name} manifest`, {
        method: 'PUT',
        url: `${path(container, name)}?multipart-manifest=put`,
        data: JSON.stringify(manifest),
        headers,
      });
      return { location: `${this.base}${path(container, name)}`, etag: String(r.headers.etag ?? '').replace(/"/g, ''), size: up.size, sha256: up.sha256 };
    } catch (e) {
      for (const s of up.segments) await this.req(`DELETE ${segC}/${s.name}`, { method: 'DELETE', url: path(segC, s.name) }).catch(() => undefined);
      throw e;
    }
  }

  private rel(location: string): string {
    if (!location.startsWith(`${this.base}/`)) throw new Error(`backup location is not in this Swift account: ${location.replace(/[?#].*$/, '')}`);
    return location.slice(this.base.length);
  }

  async open(location: string): Promise<OpenedBackup> {
    const rel = this.rel(location);
    const r = await this.req<Readable>(`GET ${rel}`, { method: 'GET', url: rel, responseType: 'stream' }).catch((e) => {
      // Swift answers 409 when a large object's first segment no longer matches its manifest (later ones cut the stream short).
      if (e instanceof SwiftRequestError && e.status === 409)
        throw new BackupIntegrityError(`restore of ${location} failed: a segment of the backup was altered (${e.message}); nothing was restored`, { cause: e });
      throw e;
    });
    return { body: r.data, ...described(r.headers) };
  }

  async head(location: string): Promise<Omit<OpenedBackup, 'body'>> {
    const rel = this.rel(location);
    return described((await this.req(`HEAD ${rel}`, { method: 'HEAD', url: rel })).headers);
  }

  async list(container: string, prefix: string): Promise<Array<{ location: string; metadata: Record<string, string> }>> {
    const out: Array<{ location: string; metadata: Record<string, string> }> = [];
    for (let marker = ''; ;) {
      const r = await this.req<Array<{ name: string }>>(`GET ${container}`, {
        method: 'GET',
        url: path(container),
        params: { prefix, marker, format: 'json' },
        validateStatus: (s) => s === 200 || s === 204 || s === 404,
      });
      const names = r.status === 200 && Array.isArray(r.data) ? r.data.map((o) => o.name) : [];
      if (!names.length) return out;
      for (const name of names) {
        const location = `${this.base}${path(container, name)}`;
        out.push({ location, metadata: (await this.head(location)).metadata });
      }
      marker = names[names.length - 1]!;
    }
  }

  async remove(location: string): Promise<void> {
    const rel = this.rel(location);
    const r = await this.req(`DELETE ${rel}`, { method: 'DELETE', url: `${rel}?multipart-manifest=delete`, headers: { Accept: 'application/json' } }).catch(
      (e) => {
        if (!(e instanceof SwiftRequestError && e.status === 404)) throw e;
        return undefined;
      },
    );
    // A manifest delete answers 200 with a bulk-delete report: what Swift refused (e.g. 401) is inside it.
    const errors = (r?.data as { Errors?: unknown } | undefined)?.Errors;
    if (Array.isArray(errors) && errors.length > 0) {
      const first = errors[0] as unknown;
      throw new SwiftRequestError(`DELETE ${rel}`, Number(String(Array.isArray(first) ? first[1] : '').slice(0, 3)) || 500);
    }
  }
}

// Swift (object-store v1) behind the ObjectStore interface: the only file of the control plane that
// knows Swift's paths and headers. Large objects are static large objects (SLO) written through
// src/common/segmented-upload.ts. Errors leave here translated: 404 → ObjectNotFoundError, the rest
// by openstack/errors.ts (5xx and no answer retryable).
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import axios, { isAxiosError, type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { DEFAULT_SEGMENT_SIZE, largeObjectEtag, segmentContainer, uploadSegments, type ManifestEntry } from '../../common/segmented-upload.js';
import { checkObjectName, normaliseMetadata } from '../../common/stored-object.js';
import {
  CHECKSUM_KEY,
  InvalidLocationError,
  ObjectNotFoundError,
  type LargePutOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
} from '../object-store.js';
import { BackendRequestError } from '../errors.js';
import { translateHttpError } from './errors.js';
import type { DriverOptions } from './http.js';

const SERVICE = 'object-store';
const META = 'x-object-meta-';

/** A Swift path: each part of the name percent-encoded, '/' kept. */
export function swiftPath(container: string, name?: string): string {
  const c = `/${encodeURIComponent(container)}`;
  return name === undefined ? c : `${c}/${name.split('/').map(encodeURIComponent).join('/')}`;
}

const unquote = (etag: unknown) => String(etag ?? '').replace(/"/g, '');

function metaHeaders(metadata: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) h[`${META}${k}`] = encodeURIComponent(v);
  return h;
}

export class SwiftObjectStore implements ObjectStore {
  private readonly http: AxiosInstance;

  constructor(private readonly o: DriverOptions) {
    this.http = axios.create({
      timeout: o.timeoutMs ?? 60_000,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      headers: { 'User-Agent': 'trove-ts', ...(o.headers ?? {}) },
    });
  }

  private async base(): Promise<string> {
    return (await this.o.endpoint()).replace(/\/+$/, '');
  }

  /** One request; a 401 is retried once with a fresh token unless the body is a stream (it cannot be sent twice). */
  private async send<T>(what: string, config: AxiosRequestConfig, notFound?: () => Error): Promise<AxiosResponse<T>> {
    const base = await this.base();
    const go = async (fresh: boolean) =>
      this.http.request<T>({ ...config, url: `${base}${config.url ?? ''}`, headers: { ...(config.headers ?? {}), 'X-Auth-Token': await this.o.token(fresh) } });
    const translate = (err: unknown) => {
      if (isAxiosError(err) && err.response?.data instanceof Readable) {
        err.response.data.destroy();
        err.response.data = '';
      }
      if (isAxiosError(err) && err.response?.status === 404 && notFound) return notFound();
      return translateHttpError(SERVICE, what, err);
    };
    try {
      return await go(false);
    } catch (err) {
      if (isAxiosError(err) && err.response?.status === 401 && !(config.data instanceof Readable)) {
        try {
          return await go(true);
        } catch (again) {
          throw translate(again);
        }
      }
      throw translate(err);
    }
  }

  async ensureContainer(container: string): Promise<void> {
    checkObjectName(container);
    await this.send(`container ${container}`, { method: 'PUT', url: swiftPath(container), headers: { 'Content-Length': '0' } });
  }

  /** PUT of a stream; resolves with the etag Swift answered after checking it against the md5 sent. */
  private async putStream(
    container: string,
    name: string,
    body: Readable,
    headers: Record<string, string>,
  ): Promise<{ etag: string; size: number; sha256: string }> {
    const md5 = createHash('md5');
    const sha = createHash('sha256');
    let size = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _e, cb) {
          md5.update(chunk);
          sha.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      }),
    );
    body.once('error', (e) => counted.destroy(e));
    const r = await this.send(
      `object ${container}/${name}`,
      { method: 'PUT', url: swiftPath(container, name), data: counted, headers: { 'Transfer-Encoding': 'chunked', ...headers } },
      () => new ObjectNotFoundError(container),
    );
    const sent = md5.digest('hex');
    const etag = unquote(r.headers.etag);
    if (etag && etag !== sent)
      throw new BackendRequestError(SERVICE, 422, `object ${container}/${name} was corrupted in transit (etag ${etag}, sent md5 ${sent})`);
    return { etag: etag || sent, size, sha256: sha.digest('hex') };
  }

  async putObject(container: string, name: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    checkObjectName(container, name);
    const metadata = normaliseMetadata(options.metadata);
    const headers = { ...metaHeaders(metadata), ...(options.contentType ? { 'Content-Type': options.contentType } : {}) };
    const put = await this.putStream(container, name, body, headers);
    // the checksum is known only once the bytes are sent: POST sets the metadata again with it
    // (a POST replaces all user metadata, so the caller's keys are repeated). No Content-Type: on a
    // POST Swift takes one as the object's new type, and axios would send form-urlencoded.
    await this.send(`object ${container}/${name}`, {
      method: 'POST',
      url: swiftPath(container, name),
      headers: { ...metaHeaders({ ...metadata, [CHECKSUM_KEY]: put.sha256 }), 'Content-Type': false },
    });
    return { ...put, segments: 0 };
  }

  async putLargeObject(container: string, name: string, body: Readable, options: LargePutOptions = {}): Promise<PutResult> {
    checkObjectName(container, name);
    const metadata = normaliseMetadata(options.metadata);
    const segC = segmentContainer(container);
    await this.ensureContainer(segC);
    const up = await uploadSegments(body, {
      name,
      segmentSize: options.segmentSize ?? DEFAULT_SEGMENT_SIZE,
      concurrency: options.concurrency ?? 3,
      putSegment: async (seg, stream) => ({ etag: (await this.putStream(segC, seg, stream, {})).etag }),
      removeSegment: (seg) => this.deleteObject(segC, seg),
    });
    if (up.segments.length === 0) return this.putObject(container, name, Readable.from([]), options);
    const entries: ManifestEntry[] = up.segments.map((s) => ({ path: `/${segC}/${s.name}`, etag: s.md5, size_bytes: s.size }));
    try {
      await this.send(
        `manifest ${container}/${name}`,
        {
          method: 'PUT',
          url: `${swiftPath(container, name)}?multipart-manifest=put`,
          data: JSON.stringify(entries),
          headers: {
            'Content-Type': options.contentType ?? 'application/octet-stream',
            ...metaHeaders({ ...metadata, [CHECKSUM_KEY]: up.sha256 }),
          },
        },
        () => new ObjectNotFoundError(container),
      );
    } catch (e) {
      for (const s of up.segments) await this.deleteObject(segC, s.name).catch(() => undefined);
      throw e;
    }
    return { etag: largeObjectEtag(entries), size: up.size, sha256: up.sha256, segments: entries.length };
  }

  async getObject(container: string, name: string): Promise<Readable> {
    checkObjectName(container, name);
    const r = await this.send<Readable>(
      `object ${container}/${name}`,
      { method: 'GET', url: swiftPath(container, name), responseType: 'stream' },
      () => new ObjectNotFoundError(container, name),
    );
    return r.data;
  }

  async headObject(container: string, name: string): Promise<ObjectInfo> {
    checkObjectName(container, name);
    const r = await this.send(
      `object ${container}/${name}`,
      { method: 'HEAD', url: swiftPath(container, name) },
      () => new ObjectNotFoundError(container, name),
    );
    const h = r.headers as Record<string, string | undefined>;
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) {
      if (k.toLowerCase().startsWith(META) && v !== undefined) metadata[k.toLowerCase().slice(META.length)] = safeDecode(String(v));
    }
    const lm = h['last-modified'];
    return {
      name,
      size: Number(h['content-length'] ?? 0),
      etag: unquote(h.etag),
      lastModified: lm ? new Date(lm).toISOString() : null,
      contentType: h['content-type'] ?? null,
      metadata,
      large: String(h['x-static-large-object'] ?? '').toLowerCase() === 'true',
    };
  }

  async deleteObject(container: string, name: string): Promise<void> {
    let large: boolean;
    try {
      large = (await this.headObject(container, name)).large;
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return;
      throw e;
    }
    const r = await this.send<unknown>(
      `object ${container}/${name}`,
      {
        method: 'DELETE',
        url: `${swiftPath(container, name)}${large ? '?multipart-manifest=delete' : ''}`,
        headers: large ? { Accept: 'application/json' } : {},
      },
      () => new ObjectNotFoundError(container, name),
    ).catch((e) => {
      if (e instanceof ObjectNotFoundError) return undefined;
      throw e;
    });
    // a manifest delete answers 200 with a bulk-delete report; segments it could not delete are errors
    const report = r?.data as { 'Response Status'?: string; Errors?: unknown[] } | undefined;
    if (large && report && typeof report === 'object' && report.Errors?.length) {
      throw new BackendRequestError(
        SERVICE,
        Number(String(report['Response Status'] ?? '500').slice(0, 3)) || 500,
        `deleting the segments of ${container}/${name}: ${JSON.stringify(report.Errors).slice(0, 200)}`,
      );
    }
  }

  async listObjects(container: string, prefix = ''): Promise<ObjectInfo[]> {
    checkObjectName(container);
    interface Row {
      name: string;
      bytes: number;
      hash: string;
      last_modified: string;
      content_type: string;
    }
    const out: ObjectInfo[] = [];
    for (let marker = ''; ;) {
      const params = new URLSearchParams({ format: 'json', prefix, ...(marker ? { marker } : {}) });
      const r = await this.send<Row[]>(
        `container ${container}`,
        { method: 'GET', url: `${swiftPath(container)}?${params}`, headers: { Accept: 'application/json' } },
        () => new ObjectNotFoundError(container),
      ).catch((e) => {
        if (e instanceof ObjectNotFoundError) return undefined;
        throw e;
      });
      const rows = r?.data ?? [];
      if (!Array.isArray(rows) || rows.length === 0) break;
      for (const row of rows) {
        out.push({
          name: row.name,
          size: row.bytes,
          etag: row.hash,
          lastModified: row.last_modified ? new Date(`${row.last_modified.replace(/Z?$/, '')}Z`).toISOString() : null,
          contentType: row.content_type ?? null,
          metadata: {},
          large: false,
        });
      }
      marker = rows[rows.length - 1]!.name;
    }
    return out;
  }

  async locationOf(container: string, name: string): Promise<string> {
    checkObjectName(container, name);
    return `${await this.base()}${swiftPath(container, name)}`;
  }

  async parseLocation(location: string): Promise<{ container: string; name: string }> {
    const base = await this.base();
    let rest: string | undefined;
    if (location.startsWith(`${base}/`)) rest = location.slice(base.length + 1);
    else rest = /\/v1\/[^/]+\/(.+)$/.exec(new URL(location).pathname)?.[1];
    const parts = rest?.replace(/[?#].*$/, '').split('/') ?? [];
    if (parts.length < 2) throw new InvalidLocationError(location, 'no container and object in the path');
    const container = decodeURIComponent(parts[0]!);
    const name = parts.slice(1).map(decodeURIComponent).join('/');
    checkObjectName(container, name);
    return { container, name };
  }
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

// What a stored object is, for every object store (the control plane's drivers and the guest's
// backup writers): put options and results, what a head or list returns, the checksum we record,
// the not-found error. The store interface itself is src/clients/object-store.ts.

/** The metadata key under which every put records the sha256 (hex) of the bytes it stored. */
export const CHECKSUM_KEY = 'sha256';

export interface PutOptions {
  /** User metadata (Swift's X-Object-Meta-*): keys of [a-z0-9-] (stored lower-case), string values. */
  metadata?: Record<string, string>;
  contentType?: string;
}

export interface LargePutOptions extends PutOptions {
  /** Bytes per segment (the last one may be shorter). Default 64 MiB. */
  segmentSize?: number;
  /** Segment uploads in flight at once (one being read from the stream, the others finishing). Default 3. */
  concurrency?: number;
  /** Metadata known only once the body has ended (e.g. where a backup tool stopped), merged over `metadata`. */
  finalMetadata?: () => Record<string, string>;
}

export interface PutResult {
  /** Swift's ETag: the md5 of the bytes for a plain object; for a large object, md5 of the segments' etags. */
  etag: string;
  /** Bytes stored. */
  size: number;
  /** sha256 (hex) of the bytes stored, also recorded as metadata[CHECKSUM_KEY]. */
  sha256: string;
  /** Segments written (0 for a plain object). */
  segments: number;
}

export interface ObjectInfo {
  name: string;
  size: number;
  etag: string;
  /** ISO 8601, UTC. */
  lastModified: string | null;
  contentType: string | null;
  /** User metadata, our checksum under CHECKSUM_KEY. Empty in listObjects results. */
  metadata: Record<string, string>;
  /** Whether the object is a large object (a manifest over segments). false in listings. */
  large: boolean;
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly container: string,
    readonly object?: string,
  ) {
    super(object === undefined ? `container ${container} not found` : `object ${container}/${object} not found`);
    this.name = 'ObjectNotFoundError';
  }
}

/** A large object's segment whose bytes do not match its manifest's etag (Swift's 409 on an altered segment). */
export class SegmentChecksumError extends Error {
  constructor(
    readonly segment: number,
    readonly object: string,
    why: string,
  ) {
    super(`backup checksum mismatch in segment ${segment} of ${object}: ${why}`);
    this.name = 'SegmentChecksumError';
  }
}

export class InvalidLocationError extends Error {
  constructor(location: string, why: string) {
    super(`not an object location of this store (${why}): ${location.replace(/[?#].*$/, '')}`);
    this.name = 'InvalidLocationError';
  }
}

/** Container and object names: Swift's rules (non-empty, bounded, containers without '/'), no '..'. */
export function checkObjectName(container: string, name?: string): void {
  if (!container || container.includes('/') || container.startsWith('.') || Buffer.byteLength(container) > 256) {
    throw new Error(`invalid container name: ${JSON.stringify(container)}`);
  }
  if (name !== undefined && (!name || Buffer.byteLength(name) > 1024 || name.split('/').some((p) => p === '..' || p === '.'))) {
    throw new Error(`invalid object name: ${JSON.stringify(name)}`);
  }
}

/** Metadata keys as Swift keeps them (lower-case); values must be single-line. */
export function normaliseMetadata(m: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    const key = k.toLowerCase();
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(key)) throw new Error(`invalid metadata key: ${JSON.stringify(k)}`);
    if (/[\r\n]/.test(v)) throw new Error(`metadata ${key}: value must be a single line`);
    out[key] = v;
  }
  return out;
}

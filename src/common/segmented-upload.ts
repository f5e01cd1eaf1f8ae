// A stream written as fixed-size segments, uploaded with bounded concurrency while it is read:
// the large-object logic every object store shares (the control plane's Swift and directory
// drivers, the guest's backup writers). It knows no backend: a caller passes how one segment is
// put and removed. Each segment is itself streamed, so memory stays at the stream buffers
// whatever the segment size; the source is paused (backpressure) while `concurrency` segments are
// in flight. On any failure the segments already started are removed before the error is thrown.
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';

/** Where the segments of `<container>/<name>` go: Swift's `<container>_segments` convention. */
export function segmentContainer(container: string): string {
  return `${container}_segments`;
}

/** The name of segment `index` (0-based) of object `name`: `<name>/00000001`, … */
export function segmentName(name: string, index: number): string {
  return `${name}/${String(index + 1).padStart(8, '0')}`;
}

/** One entry of a large object's manifest (the shape of Swift's SLO manifest). */
export interface ManifestEntry {
  /** `/<segment container>/<segment name>` */
  path: string;
  etag: string;
  size_bytes: number;
}

/** The etag a large object reports: md5 of its segments' etags concatenated (as Swift's SLO). */
export function largeObjectEtag(entries: ManifestEntry[]): string {
  return createHash('md5')
    .update(entries.map((e) => e.etag).join(''))
    .digest('hex');
}

export interface SegmentResult {
  index: number;
  name: string;
  size: number;
  /** md5 (hex) of the segment's bytes, checked against the etag the store answered. */
  md5: string;
}

export interface SegmentedUploadOptions {
  /** The object's name; segments are named segmentName(name, i). */
  name: string;
  segmentSize: number;
  concurrency: number;
  /** Stores one segment from its stream; resolves with the store's etag (md5 hex) if it reports one. */
  putSegment(name: string, body: Readable, index: number): Promise<{ etag?: string | undefined }>;
  /** Removes a segment after a failure; errors are ignored. */
  removeSegment(name: string): Promise<void>;
}

export interface SegmentedUpload {
  segments: SegmentResult[];
  size: number;
  /** sha256 (hex) of all the bytes. */
  sha256: string;
}

export class SegmentUploadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SegmentUploadError';
  }
}

export const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;

/** Reads `source` to its end, uploading it as segments; see the file comment. */
export async function uploadSegments(source: Readable, o: SegmentedUploadOptions): Promise<SegmentedUpload> {
  if (!(o.segmentSize > 0) || !(o.concurrency >= 1)) throw new Error('segmentSize and concurrency must be positive');
  const whole = createHash('sha256');
  const results: SegmentResult[] = [];
  const inflight = new Set<Promise<void>>();
  const started: string[] = [];
  let failure: unknown;
  let failed!: (e: unknown) => void;
  const failedP = new Promise<never>((_r, reject) => (failed = reject));
  failedP.catch(() => undefined);
  const fail = (e: unknown) => {
    if (failure === undefined) failure = e ?? new Error('segment upload failed');
    failed(failure);
  };

  let seg: { body: PassThrough; md5: ReturnType<typeof createHash>; size: number; index: number } | undefined;
  let total = 0;

  const open = async () => {
    while (inflight.size >= o.concurrency) await Promise.race([...inflight, failedP]);
    const index = started.length;
    const name = segmentName(o.name, index);
    const body = new PassThrough({ highWaterMark: 1024 * 1024 });
    body.on('error', () => undefined); // the uploader sees it through its own listener
    const cur = { body, md5: createHash('md5'), size: 0, index };
    started.push(name);
    const p = o
      .putSegment(name, body, index)
      .then(({ etag }) => {
        const md5 = cur.md5.digest('hex');
        if (etag && etag.replace(/"/g, '').toLowerCase() !== md5)
          throw new SegmentUploadError(`segment ${index + 1} of ${o.name} was corrupted in transit (etag ${etag}, sent md5 ${md5})`);
        results.push({ index, name, size: cur.size, md5 });
      })
      .catch((e) => {
        body.destroy();
        fail(e);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    seg = cur;
  };

  const close = () => {
    seg?.body.end();
    seg = undefined;
  };

  try {
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      whole.update(buf);
      total += buf.length;
      while (buf.length > 0) {
        if (failure !== undefined) throw failure;
        if (!seg) await open();
        const s = seg!;
        const piece = buf.subarray(0, o.segmentSize - s.size);
        buf = buf.subarray(piece.length);
        s.md5.update(piece);
        s.size += piece.length;
        const ok = s.body.write(piece);
        if (s.size >= o.segmentSize) close();
        if (!ok) await Promise.race([drained(s.body), failedP]);
      }
    }
    close();
    while (inflight.size > 0) await Promise.race([...inflight, failedP]);
    if (failure !== undefined) throw failure;
  } catch (err) {
    fail(err);
    seg?.body.destroy(failure instanceof Error ? failure : new Error(String(failure)));
    source.destroy();
    await Promise.allSettled([...inflight]);
    await removeAll(started, o);
    throw failure;
  }
  results.sort((a, b) => a.index - b.index);
  return { segments: results, size: total, sha256: whole.digest('hex') };
}

/** Resolves at the stream's next 'drain' (or 'close'), leaving no listener behind. */
function drained(s: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

async function removeAll(names: string[], o: SegmentedUploadOptions): Promise<void> {
  const queue = [...names];
  const worker = async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) await o.removeSegment(n).catch(() => undefined);
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, queue.length) }, worker));
}

// A directory tree as an object store, the all-in-one stand-in for Swift:
//   <root>/<container>/<object>             the bytes (for a large object: its manifest, JSON)
//   <root>/<container>/<object>.meta.json   the sidecar: etag, size, sha256, metadata, large
//   <root>/<container>_segments/<object>/00000001 …  a large object's segments (plain objects)
// Etags and checksums are Swift's (md5 of the bytes; md5 of the segment etags for a large object),
// plus our sha256. It lives in src/common because the control plane (clients/local/object-store.ts)
// and the guest's backup writer (guestagent/backup/storage/local.ts) must agree on the layout, and
// the guest may not import src/clients. Writes land in <root>/.incoming and are renamed in place.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_SEGMENT_SIZE, largeObjectEtag, segmentContainer, uploadSegments, type ManifestEntry } from './segmented-upload.js';
import {
  CHECKSUM_KEY,
  checkObjectName,
  InvalidLocationError,
  normaliseMetadata,
  ObjectNotFoundError,
  SegmentChecksumError,
  type LargePutOptions,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
} from './stored-object.js';

const SIDECAR = '.meta.json';

interface Sidecar {
  etag: string;
  size: number;
  contentType: string | null;
  lastModified: string;
  metadata: Record<string, string>;
  large: boolean;
}

/** Whether a process of this pid runs (one of another user's counts: EPERM). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const missing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR';

export class ObjectDirectory {
  constructor(readonly root: string) {}

  private dataPath(container: string, name: string): string {
    return path.join(this.root, container, name);
  }

  private async sidecar(container: string, name: string): Promise<Sidecar> {
    checkObjectName(container, name);
    try {
      return JSON.parse(await readFile(this.dataPath(container, name) + SIDECAR, 'utf8')) as Sidecar;
    } catch (e) {
      if (missing(e)) throw new ObjectNotFoundError(container, name);
      throw e;
    }
  }

  async ensureContainer(container: string): Promise<void> {
    checkObjectName(container);
    await mkdir(path.join(this.root, container), { recursive: true });
  }

  private async requireContainer(container: string): Promise<void> {
    const s = await stat(path.join(this.root, container)).catch(() => undefined);
    if (!s?.isDirectory()) throw new ObjectNotFoundError(container);
  }

  /** Writes the data file (already complete at `tmp`) and its sidecar, sidecar first. */
  private async commit(container: string, name: string, tmp: string, meta: Sidecar): Promise<void> {
    const target = this.dataPath(container, name);
    await mkdir(path.dirname(target), { recursive: true });
    const tmpMeta = `${tmp}${SIDECAR}`;
    await writeFile(tmpMeta, JSON.stringify(meta));
    await rename(tmpMeta, target + SIDECAR);
    await rename(tmp, target);
  }

  /**
   * A new file in <root>/.incoming for a write, named after the writing process. A writer killed
   * mid-upload (a guest agent SIGKILLed during a backup) cannot remove its file; whoever writes or
   * lists next removes the files of writers that no longer run, as an interrupted PUT leaves nothing
   * in Swift.
   */
  private async incoming(): Promise<string> {
    const dir = path.join(this.root, '.incoming');
    await mkdir(dir, { recursive: true });
    await this.sweepIncoming();
    return path.join(dir, `${process.pid}-${randomUUID()}`);
  }

  private async sweepIncoming(): Promise<void> {
    const dir = path.join(this.root, '.incoming');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number(/^(\d+)-/.exec(name)?.[1]);
      if (pid && !processRuns(pid)) await rm(path.join(dir, name), { force: true });
    }
  }

  private checkWritable(container: string, name: string): void {
    checkObjectName(container, name);
    if (name.endsWith(SIDECAR)) throw new Error(`invalid object name (reserved suffix ${SIDECAR}): ${name}`);
  }

  async putObject(container: string, name: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    this.checkWritable(container, name);
    const metadata = normaliseMetadata(options.metadata);
    await this.requireContainer(container);
    const tmp = await this.incoming();
    const md5 = createHash('md5');
    const sha = createHash('sha256');
    let size = 0;
    const hash = new Transform({
      transform(chunk: Buffer, _e, cb) {
        md5.update(chunk);
        sha.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, hash, createWriteStream(tmp));
      const etag = md5.digest('hex');
      const sha256 = sha.digest('hex');
      await this.commit(container, name, tmp, {
        etag,
        size,
        contentType: options.contentType ?? null,
        lastModified: new Date().toISOString(),
        metadata: { ...metadata, [CHECKSUM_KEY]: sha256 },
        large: false,
      });
      return { etag, size, sha256, segments: 0 };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async putLargeObject(container: string, name: string, body: Readable, options: LargePutOptions = {}): Promise<PutResult> {
    this.checkWritable(container, name);
    const metadata = normaliseMetadata(options.metadata);
    await this.requireContainer(container);
    const segC = segmentContainer(container);
    await this.ensureContainer(segC);
    const up = await uploadSegments(body, {
      name,
      segmentSize: options.segmentSize ?? DEFAULT_SEGMENT_SIZE,
      concurrency: options.concurrency ?? 3,
      putSegment: async (seg, stream) => ({ etag: (await this.putObject(segC, seg, stream)).etag }),
      removeSegment: (seg) => this.deleteObject(segC, seg),
    });
    if (up.segments.length === 0) return this.putObject(container, name, Readable.from([]), options);
    const entries: ManifestEntry[] = up.segments.map((s) => ({ path: `/${segC}/${s.name}`, etag: s.md5, size_bytes: s.size }));
    const tmp = await this.incoming();
    try {
      await writeFile(tmp, JSON.stringify(entries));
      const etag = largeObjectEtag(entries);
      await this.commit(container, name, tmp, {
        etag,
        size: up.size,
        contentType: options.contentType ?? null,
        lastModified: new Date().toISOString(),
        metadata: { ...metadata, ...normaliseMetadata(options.finalMetadata?.()), [CHECKSUM_KEY]: up.sha256 },
        large: true,
      });
      return { etag, size: up.size, sha256: up.sha256, segments: entries.length };
    } catch (e) {
      for (const s of up.segments) await this.deleteObject(segC, s.name).catch(() => undefined);
      throw e;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async manifest(container: string, name: string): Promise<ManifestEntry[]> {
    return JSON.parse(await readFile(this.dataPath(container, name), 'utf8')) as ManifestEntry[];
  }

  private segmentFile(entry: ManifestEntry): string {
    const rel = entry.path.replace(/^\/+/, '');
    const slash = rel.indexOf('/');
    checkObjectName(rel.slice(0, slash), rel.slice(slash + 1));
    return path.join(this.root, rel);
  }

  async getObject(container: string, name: string): Promise<Readable> {
    const meta = await this.sidecar(container, name);
    if (!meta.large) return createReadStream(this.dataPath(container, name));
    const segments = (await this.manifest(container, name)).map((e) => ({ file: this.segmentFile(e), etag: e.etag, size: e.size_bytes }));
    const object = `${container}/${name}`;
    return Readable.from(
      (async function* () {
        // each segment checked against its manifest entry before its bytes are given out (as
        // Swift's SLO answers 409 for an altered segment): a bad one is named, nothing of it read
        for (const [i, seg] of segments.entries()) {
          const md5 = createHash('md5');
          let size = 0;
          for await (const chunk of createReadStream(seg.file) as AsyncIterable<Buffer>) {
            md5.update(chunk);
            size += chunk.length;
          }
          const got = md5.digest('hex');
          if (size !== seg.size || got !== seg.etag)
            throw new SegmentChecksumError(
              i + 1,
              object,
              size !== seg.size ? `${size} bytes, the manifest records ${seg.size}` : `md5 ${got}, the manifest records ${seg.etag}`,
            );
          yield* createReadStream(seg.file) as AsyncIterable<Buffer>;
        }
      })(),
      { objectMode: false },
    );
  }

  async headObject(container: string, name: string): Promise<ObjectInfo> {
    const m = await this.sidecar(container, name);
    return { name, size: m.size, etag: m.etag, lastModified: m.lastModified, contentType: m.contentType, metadata: { ...m.metadata }, large: m.large };
  }

  async deleteObject(container: string, name: string): Promise<void> {
    let meta: Sidecar;
    try {
      meta = await this.sidecar(container, name);
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return;
      throw e;
    }
    if (meta.large) {
      for (const entry of await this.manifest(container, name).catch(() => [])) {
        const rel = entry.path.replace(/^\/+/, '');
        const slash = rel.indexOf('/');
        await this.deleteObject(rel.slice(0, slash), rel.slice(slash + 1));
      }
    }
    const file = this.dataPath(container, name);
    await rm(file, { force: true });
    await rm(file + SIDECAR, { force: true });
    // drop the pseudo-directories the object left empty (never the container itself)
    const top = path.join(this.root, container);
    for (let d = path.dirname(file); d.startsWith(top + path.sep); d = path.dirname(d)) {
      if (
        !(await rmdir(d).then(
          () => true,
          () => false,
        ))
      )
        break;
    }
  }

  async listObjects(container: string, prefix = ''): Promise<ObjectInfo[]> {
    checkObjectName(container);
    await this.sweepIncoming();
    const top = path.join(this.root, container);
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch((e) => {
        if (missing(e)) return [];
        throw e;
      });
      for (const ent of entries) {
        const full = path.join(dir, ent.name);
        if (ent.isDirectory()) await walk(full);
        else if (ent.name.endsWith(SIDECAR)) {
          const name = path.relative(top, full.slice(0, -SIDECAR.length)).split(path.sep).join('/');
          if (!name.startsWith(prefix)) continue;
          const m = JSON.parse(await readFile(full, 'utf8')) as Sidecar;
          out.push({ name, size: m.size, etag: m.etag, lastModified: m.lastModified, contentType: m.contentType, metadata: {}, large: false });
        }
      }
    };
    await walk(top);
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async locationOf(container: string, name: string): Promise<string> {
    checkObjectName(container, name);
    return pathToFileURL(this.dataPath(container, name)).href;
  }

  async parseLocation(location: string): Promise<{ container: string; name: string }> {
    if (!location.startsWith('file:')) throw new InvalidLocationError(location, 'not a file: URL');
    const rel = path.relative(this.root, fileURLToPath(location));
    const parts = rel.split(path.sep);
    if (rel.startsWith('..') || path.isAbsolute(rel) || parts.length < 2) throw new InvalidLocationError(location, `not under ${this.root}`);
    const container = parts[0]!;
    const name = parts.slice(1).join('/');
    checkObjectName(container, name);
    return { container, name };
  }
}

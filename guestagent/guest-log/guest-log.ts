// Trove's guest log model for one agent: what each of the engine's logs shows (status, bytes
// published and pending, where it is published), and publish / discard into the caller's object
// store. A publish stores the part of the file written since the last one as numbered objects
// `<prefix>log-00000001`, ... (each at most guest_log_limit bytes, with its line count in the
// `lines` metadata the client's `log tail` reads) and rewrites the metafile; a file rotated under
// us (smaller, another first line, another inode) is discarded and published again from its start.
// What was published is kept in the agent's state file, so a restarted agent continues.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Logger } from '../../src/common/log.js';
import type { LogDefinition, LogState } from '../capabilities.js';
import type { BackupStorage } from '../backup/storage/storage.js';
import type { GuestLogConfig } from './config.js';
import { readParts } from './publish.js';

/** Trove's status names, as the API shows them. */
export type LogStatus = 'Disabled' | 'Enabled' | 'Unavailable' | 'Ready' | 'Published' | 'Partial' | 'Rotated' | 'Restart Required';

/** One log as guest_log_list shows it (Trove's GuestLog.show()). */
export interface LogView {
  name: string;
  type: 'USER' | 'SYS';
  status: LogStatus;
  published: number;
  pending: number;
  container: string;
  prefix: string;
  metafile: string;
}

interface Published {
  /** Bytes of the file published so far. */
  size: number;
  /** md5 of the file's first line when it was published (Trove's log_header_digest). */
  digest: string;
  ino: number;
  /** The number of the next object. */
  nextPart: number;
}

const FRESH: Published = { size: 0, digest: '', ino: 0, nextPart: 1 };

interface FileFacts {
  size: number;
  ino: number;
  digest: string;
}

/** The file's size, inode and first-line digest; undefined when it does not exist (yet). */
async function facts(file: string): Promise<FileFacts | undefined> {
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(st.size, 4096));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    const nl = head.indexOf(0x0a);
    return {
      size: st.size,
      ino: st.ino,
      digest: createHash('md5')
        .update(nl === -1 ? head : head.subarray(0, nl + 1))
        .digest('hex'),
    };
  } finally {
    await fh.close();
  }
}

export interface GuestLogBookOptions {
  instanceId: string;
  /** The datastore manager (Trove's object prefix names it). */
  manager: string;
  config: GuestLogConfig;
  /** Where what was published is remembered (absent: in memory only). */
  stateFile?: string | undefined;
  log: Logger;
}

export class GuestLogBook {
  private readonly published: Record<string, Published>;
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly o: GuestLogBookOptions) {
    this.published = o.stateFile && existsSync(o.stateFile) ? (JSON.parse(readFileSync(o.stateFile, 'utf8')) as Record<string, Published>) : {};
  }

  private save(): void {
    if (this.o.stateFile) writeFileSync(this.o.stateFile, JSON.stringify(this.published), { mode: 0o600 });
  }

  /** Trove's object prefix: `<instance id>/<datastore manager>-<log name>/`. */
  prefix(name: string): string {
    return `${this.o.instanceId}/${this.o.manager}-${name}/`;
  }

  metafile(name: string): string {
    return `${this.prefix(name).replace(/\/$/, '')}_metafile`;
  }

  /** One action at a time per log (two publishes would number the same objects). */
  serialized<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.busy.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.busy.set(name, next);
    return next.finally(() => {
      if (this.busy.get(name) === next) this.busy.delete(name);
    });
  }

  /** Trove's GuestLog.show(): the status from the file, what was published and the engine's state of the log. */
  async show(def: LogDefinition, state: LogState): Promise<LogView> {
    const p = this.published[def.name] ?? FRESH;
    const f = await facts(def.file);
    const enabled = def.type === 'SYS' || state !== 'disabled';
    const size = f?.size ?? 0;
    const rotated = f !== undefined && p.size > 0 && (f.size < p.size || f.digest !== p.digest || f.ino !== p.ino);
    let status: LogStatus = 'Unavailable';
    if (f) {
      if (rotated) status = 'Rotated';
      else if (f.size > p.size) status = p.size ? 'Partial' : 'Ready';
      else status = p.size ? 'Published' : 'Enabled';
    }
    if (!size || !enabled) status = def.type === 'USER' ? (enabled ? 'Enabled' : 'Disabled') : 'Unavailable';
    if (def.type === 'USER' && state === 'restart-required') status = 'Restart Required';
    return {
      name: def.name,
      type: def.type,
      status,
      published: p.size,
      pending: rotated ? size : Math.max(0, size - p.size),
      // Trove's show() names the container and prefix once something is published
      container: p.size ? this.o.config.guest_log_container_name : 'None',
      prefix: p.size ? this.prefix(def.name) : 'None',
      metafile: this.metafile(def.name),
    };
  }

  /** Stores what the file gained since the last publish (all of it after a rotation); nothing to publish is fine. */
  async publish(def: LogDefinition, storage: BackupStorage): Promise<void> {
    const f = await facts(def.file);
    if (!f) return;
    const container = this.o.config.guest_log_container_name;
    let p = this.published[def.name] ?? FRESH;
    if (p.size > 0 && (f.size < p.size || f.digest !== p.digest || f.ino !== p.ino)) {
      this.o.log.info({ log: def.name }, 'guest log rotated: discarding what was published of it');
      await this.removeObjects(def.name, storage);
      p = FRESH;
    }
    const started = p.size;
    await readParts(def.file, p.size, f.size, this.o.config.guest_log_limit, async (part) => {
      const name = `${this.prefix(def.name)}log-${String(p.nextPart).padStart(8, '0')}`;
      await storage.write(container, name, Readable.from([part.body]), {
        metadata: { lines: String(part.lines) },
        segmentSize: part.body.length,
        concurrency: 1,
      });
      p = { size: p.size + part.body.length, digest: f.digest, ino: f.ino, nextPart: p.nextPart + 1 };
      this.published[def.name] = p;
      this.save();
    });
    if (p.size === 0) return;
    const meta = { log_name: def.name, log_type: def.type, log_file: def.file, log_size: p.size, log_header_digest: p.digest, parts: p.nextPart - 1 };
    const body = Buffer.from(JSON.stringify(meta));
    await storage.write(container, this.metafile(def.name), Readable.from([body]), { metadata: {}, segmentSize: body.length, concurrency: 1 });
    this.o.log.info({ log: def.name, bytes: p.size - started, published: p.size }, 'guest log published');
  }

  /** Removes every published object of the log and its metafile. */
  async discard(def: LogDefinition, storage: BackupStorage): Promise<void> {
    await this.removeObjects(def.name, storage);
    this.o.log.info({ log: def.name }, 'guest log discarded');
  }

  private async removeObjects(name: string, storage: BackupStorage): Promise<void> {
    const container = this.o.config.guest_log_container_name;
    const objects = [...(await storage.list(container, this.prefix(name))), ...(await storage.list(container, this.metafile(name)))];
    for (const o of objects) await storage.remove(o.location);
    this.published[name] = { ...FRESH, nextPart: 1 };
    this.save();
  }
}

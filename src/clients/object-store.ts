// Object storage (Swift) in our terms: containers of named objects written from streams, large
// objects as segments + a manifest (Swift's SLO), our own sha256 of the stored bytes kept in the
// object's metadata. Implemented by openstack/swift.ts and local/object-store.ts; both pass
// test/helpers/object-store.contract.ts. The data types are in src/common/stored-object.ts
// because the guest's backup writers (which may not import src/clients) share them.
import type { Readable } from 'node:stream';
import type { LargePutOptions, ObjectInfo, PutOptions, PutResult } from '../common/stored-object.js';

export { CHECKSUM_KEY, InvalidLocationError, ObjectNotFoundError } from '../common/stored-object.js';
export type { LargePutOptions, ObjectInfo, PutOptions, PutResult } from '../common/stored-object.js';

export interface ObjectStore {
  /** Creates the container if it does not exist (and is fine if it does). */
  ensureContainer(container: string): Promise<void>;
  /** Stores the stream as one object (Swift's 5 GiB limit applies); the container must exist. */
  putObject(container: string, name: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  /**
   * Stores the stream as a large object: segments `<name>/00000001…` in `<container>_segments`
   * (created as needed), uploaded with bounded concurrency while the stream is read, then the
   * manifest `<container>/<name>` carrying the metadata and checksum. Memory stays at the stream
   * buffers whatever the size. If anything fails (the stream errors, an upload fails), the
   * segments written are removed and no manifest is written. An empty stream is a plain object.
   */
  putLargeObject(container: string, name: string, body: Readable, options?: LargePutOptions): Promise<PutResult>;
  /** The object's bytes (a large object's segments in order). Throws ObjectNotFoundError. */
  getObject(container: string, name: string): Promise<Readable>;
  /** Throws ObjectNotFoundError. */
  headObject(container: string, name: string): Promise<ObjectInfo>;
  /** Deletes the object, and a large object's segments with it; an object already gone is fine. */
  deleteObject(container: string, name: string): Promise<void>;
  /** Objects whose name starts with prefix, sorted by name; a missing container lists nothing. */
  listObjects(container: string, prefix?: string): Promise<ObjectInfo[]>;
  /** The URL recorded as a backup's location (Trove's `location`). */
  locationOf(container: string, name: string): Promise<string>;
  /** The container and object a location names; throws InvalidLocationError if it is not this store's. */
  parseLocation(location: string): Promise<{ container: string; name: string }>;
}

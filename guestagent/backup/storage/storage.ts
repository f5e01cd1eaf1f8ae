// Where the guest writes and reads backups: a large object (segments + manifest) per backup, with
// the backup's metadata and our sha256. swift.ts (the tenant's Swift, with the token the backup
// call carried) and local.ts (the all-in-one directory tree the control plane also opens).
import type { Readable } from 'node:stream';

export interface StoredBackup {
  /** The URL recorded as the backup's location. */
  location: string;
  etag: string;
  /** Bytes stored. */
  size: number;
  /** sha256 (hex) of the bytes stored. */
  sha256: string;
}

export interface WriteOptions {
  metadata: Record<string, string>;
  segmentSize: number;
  concurrency: number;
  /** Metadata known only once the body has ended (e.g. the position the backup tool stopped at), merged over `metadata`. */
  finalMetadata?: () => Record<string, string>;
}

export interface OpenedBackup {
  body: Readable;
  size: number;
  /** The object's metadata (keys lower-case), our sha256 under 'sha256'. */
  metadata: Record<string, string>;
}

export interface BackupStorage {
  /** The backup's storage_driver: 'swift' or 'local'. */
  readonly driver: string;
  /** Stores the stream as `<container>/<name>`; on failure nothing of it is left. */
  write(container: string, name: string, body: Readable, o: WriteOptions): Promise<StoredBackup>;
  /** Opens a location written by write() (or by the control plane's store of the same kind). */
  open(location: string): Promise<OpenedBackup>;
  /** A location's size and metadata, without its body (an incremental backup reads its parent's). */
  head(location: string): Promise<Omit<OpenedBackup, 'body'>>;
  /** The objects of a container whose names start with prefix (archived logs), with their metadata. */
  list(container: string, prefix: string): Promise<Array<{ location: string; metadata: Record<string, string> }>>;
  /** Removes the backup and its segments; gone already is fine. */
  remove(location: string): Promise<void>;
}

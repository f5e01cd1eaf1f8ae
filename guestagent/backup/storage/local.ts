// Backups in the all-in-one directory tree ([local] state_dir/objects), through the same
// src/common/object-directory.ts the control plane's LocalObjectStore uses, so both read the
// same layout.
import type { Readable } from 'node:stream';
import { ObjectDirectory } from '../../../src/common/object-directory.js';
import { CHECKSUM_KEY } from '../../../src/common/stored-object.js';
import type { BackupStorage, OpenedBackup, StoredBackup, WriteOptions } from './storage.js';

export class LocalBackupStorage implements BackupStorage {
  readonly driver = 'local';
  private readonly dir: ObjectDirectory;

  /** `root`: the object directory, <[local] state_dir>/objects. */
  constructor(root: string) {
    this.dir = new ObjectDirectory(root);
  }

  async write(container: string, name: string, body: Readable, o: WriteOptions): Promise<StoredBackup> {
    await this.dir.ensureContainer(container);
    const put = await this.dir.putLargeObject(container, name, body, o);
    return { location: await this.dir.locationOf(container, name), etag: put.etag, size: put.size, sha256: put.sha256 };
  }

  async open(location: string): Promise<OpenedBackup> {
    const { container, name } = await this.dir.parseLocation(location);
    const head = await this.dir.headObject(container, name);
    if (!head.metadata[CHECKSUM_KEY]) throw new Error(`backup ${name} has no recorded checksum`);
    return { body: await this.dir.getObject(container, name), size: head.size, metadata: head.metadata };
  }

  async head(location: string): Promise<Omit<OpenedBackup, 'body'>> {
    const { container, name } = await this.dir.parseLocation(location);
    const head = await this.dir.headObject(container, name);
    return { size: head.size, metadata: head.metadata };
  }

  async list(container: string, prefix: string): Promise<Array<{ location: string; metadata: Record<string, string> }>> {
    const objects = await this.dir.listObjects(container, prefix);
    return Promise.all(
      objects.map(async (o) => ({ location: await this.dir.locationOf(container, o.name), metadata: (await this.dir.headObject(container, o.name)).metadata })),
    );
  }

  async remove(location: string): Promise<void> {
    const { container, name } = await this.dir.parseLocation(location);
    await this.dir.deleteObject(container, name);
  }
}

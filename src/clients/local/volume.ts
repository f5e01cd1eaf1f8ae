// Volumes on this machine: a directory per volume under [local] state_dir/volumes.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Volume, VolumeService, VolumeType } from '../volume.js';
import type { LocalConfig } from './config.js';

export class LocalVolumes implements VolumeService {
  private readonly root: string;

  constructor(c: LocalConfig) {
    this.root = path.join(c.state_dir, 'volumes');
  }

  dir(id: string): string {
    return path.join(this.root, id, 'mnt');
  }

  async listVolumeTypes(): Promise<VolumeType[]> {
    return [{ id: 'local', name: 'local', is_public: true, description: 'a directory on this machine' }];
  }

  /** A volume's id is derived from its name, so a retried create finds the same volume. */
  static idFor(name: string): string {
    const h = createHash('sha256').update(name).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }

  async findVolume(name: string): Promise<Volume | undefined> {
    return this.getVolume(LocalVolumes.idFor(name)).catch(() => undefined);
  }

  async ensureVolume(name: string, sizeGb: number): Promise<Volume> {
    const id = LocalVolumes.idFor(name);
    const base = path.join(this.root, id);
    mkdirSync(path.join(base, 'mnt'), { recursive: true });
    for (const d of [this.root, base, path.join(base, 'mnt')]) chmodSync(d, 0o755);
    const meta = path.join(base, 'volume.json');
    if (!existsSync(meta)) writeFileSync(meta, JSON.stringify({ size: sizeGb, name }));
    return this.getVolume(id);
  }

  async getVolume(id: string): Promise<Volume> {
    const meta = path.join(this.root, id, 'volume.json');
    if (!existsSync(meta)) throw new Error(`volume ${id} not found`);
    return { id, status: 'available', size: (JSON.parse(readFileSync(meta, 'utf8')) as { size: number }).size };
  }

  async extendVolume(id: string, sizeGb: number): Promise<void> {
    const meta = path.join(this.root, id, 'volume.json');
    writeFileSync(meta, JSON.stringify({ ...JSON.parse(readFileSync(meta, 'utf8')), size: sizeGb }));
  }

  async deleteVolume(id: string): Promise<void> {
    rmSync(path.join(this.root, id), { recursive: true, force: true });
  }
}

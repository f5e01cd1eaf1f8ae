// Volumes for qemu servers: one qcow2 file each under [qemu] state_dir/volumes, attached to the VM
// as its second disk (the guest formats and mounts it: guestagent/boot/data-volume.ts).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Volume, VolumeService, VolumeType } from '../volume.js';
import { LocalVolumes } from '../local/volume.js';
import type { QemuConfig } from './config.js';

const run = promisify(execFile);

export class QemuVolumes implements VolumeService {
  private readonly root: string;

  constructor(private readonly c: QemuConfig) {
    this.root = path.join(c.state_dir, 'volumes');
  }

  file(id: string): string {
    return path.join(this.root, `${id}.qcow2`);
  }

  private meta(id: string): string {
    return path.join(this.root, `${id}.json`);
  }

  async listVolumeTypes(): Promise<VolumeType[]> {
    return [{ id: 'qcow2', name: 'qcow2', is_public: true, description: 'a qcow2 file on this machine' }];
  }

  async findVolume(name: string): Promise<Volume | undefined> {
    return this.getVolume(LocalVolumes.idFor(name)).catch(() => undefined);
  }

  async ensureVolume(name: string, sizeGb: number): Promise<Volume> {
    const id = LocalVolumes.idFor(name);
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    if (!existsSync(this.meta(id))) {
      await run(this.c.qemu_img_bin, ['create', '-q', '-f', 'qcow2', this.file(id), `${sizeGb}G`], { timeout: 60_000 });
      writeFileSync(this.meta(id), JSON.stringify({ size: sizeGb, name }));
    }
    return this.getVolume(id);
  }

  async getVolume(id: string): Promise<Volume> {
    if (!existsSync(this.meta(id))) throw new Error(`volume ${id} not found`);
    return { id, status: 'available', size: (JSON.parse(readFileSync(this.meta(id), 'utf8')) as { size: number }).size };
  }

  /** Grows the file (qemu-img refuses while a running VM holds it: resize a stopped server's volume). */
  async extendVolume(id: string, sizeGb: number): Promise<void> {
    await run(this.c.qemu_img_bin, ['resize', '-q', this.file(id), `${sizeGb}G`], { timeout: 60_000 });
    writeFileSync(this.meta(id), JSON.stringify({ ...JSON.parse(readFileSync(this.meta(id), 'utf8')), size: sizeGb }));
  }

  async deleteVolume(id: string): Promise<void> {
    rmSync(this.file(id), { force: true });
    rmSync(this.meta(id), { force: true });
  }
}

// Cinder volumes behind VolumeService: create by name (found again on retry), extend, delete.
import type { Volume, VolumeService } from '../volume.js';
import { BackendNotFoundError } from './errors.js';
import { CinderBlockStorage } from './cinder.js';

interface CinderVolume {
  id: string;
  name: string | null;
  status: string;
  size: number;
}

const toVolume = (v: CinderVolume): Volume => ({ id: v.id, status: v.status, size: v.size });

export class CinderVolumes extends CinderBlockStorage implements VolumeService {
  async findVolume(name: string): Promise<Volume | undefined> {
    const r = await this.http.request<{ volumes: CinderVolume[] }>('volumes', { method: 'GET', url: `/volumes/detail?name=${encodeURIComponent(name)}` });
    const v = r.volumes.find((x) => x.name === name && x.status !== 'deleting');
    return v ? toVolume(v) : undefined;
  }

  async ensureVolume(name: string, sizeGb: number, type: string | null, availabilityZone: string | null): Promise<Volume> {
    const existing = await this.findVolume(name);
    if (existing) return existing;
    const r = await this.http.request<{ volume: CinderVolume }>('volume create', {
      method: 'POST',
      url: '/volumes',
      data: { volume: { size: sizeGb, name, ...(type ? { volume_type: type } : {}), ...(availabilityZone ? { availability_zone: availabilityZone } : {}) } },
    });
    return toVolume(r.volume);
  }

  async getVolume(id: string): Promise<Volume> {
    return toVolume((await this.http.request<{ volume: CinderVolume }>(`volume ${id}`, { method: 'GET', url: `/volumes/${id}` })).volume);
  }

  async extendVolume(id: string, sizeGb: number): Promise<void> {
    await this.http.request(`volume ${id} extend`, { method: 'POST', url: `/volumes/${id}/action`, data: { 'os-extend': { new_size: sizeGb } } });
  }

  async deleteVolume(id: string): Promise<void> {
    try {
      await this.http.request(`volume ${id}`, { method: 'DELETE', url: `/volumes/${id}` });
    } catch (err) {
      if (!(err instanceof BackendNotFoundError)) throw err;
    }
  }
}

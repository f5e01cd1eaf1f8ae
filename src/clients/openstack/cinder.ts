// Cinder (volume v3) behind the BlockStorage interface.
import type { BlockStorage, VolumeType } from '../volume.js';
import { HttpDriver, type DriverOptions } from './http.js';

interface CinderType {
  id: string;
  name: string;
  description?: string | null;
  is_public?: boolean;
  'os-volume-type-access:is_public'?: boolean;
}

export class CinderBlockStorage implements BlockStorage {
  protected readonly http: HttpDriver;

  constructor(o: DriverOptions) {
    this.http = new HttpDriver('volume', { ...o, headers: { 'OpenStack-API-Version': 'volume 3.42', ...(o.headers ?? {}) } });
  }

  async listVolumeTypes(): Promise<VolumeType[]> {
    const r = await this.http.request<{ volume_types: CinderType[] }>('volume types', { method: 'GET', url: '/types' });
    return r.volume_types.map((t) => ({
      id: t.id,
      name: t.name,
      is_public: t['os-volume-type-access:is_public'] ?? t.is_public ?? true,
      description: t.description ?? null,
    }));
  }
}

// Nova (compute v2.1) behind the Compute interface. The only file that knows Nova's URLs and JSON.
import { ComputeNotFoundError, type Compute, type Flavor, type ZoneLookup } from '../compute.js';
import { BackendNotFoundError } from './errors.js';
import { HttpDriver, type DriverOptions } from './http.js';

interface NovaFlavor {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  'OS-FLV-EXT-DATA:ephemeral'?: number;
}

const toFlavor = (f: NovaFlavor): Flavor => ({
  id: String(f.id),
  name: f.name,
  ram: f.ram,
  vcpus: f.vcpus,
  disk: f.disk,
  ephemeral: f['OS-FLV-EXT-DATA:ephemeral'] ?? 0,
});

export const NOVA_MICROVERSION = '2.60';

export class NovaCompute implements Compute, ZoneLookup {
  protected readonly http: HttpDriver;

  constructor(o: DriverOptions) {
    this.http = new HttpDriver('compute', { ...o, headers: { 'X-OpenStack-Nova-API-Version': NOVA_MICROVERSION, ...(o.headers ?? {}) } });
  }

  async listFlavors(): Promise<Flavor[]> {
    const out: Flavor[] = [];
    let url: string | undefined = '/flavors/detail';
    for (let page = 0; url && page < 100; page++) {
      const r: { flavors: NovaFlavor[]; flavors_links?: Array<{ rel: string; href: string }> } = await this.http.request('flavors', {
        method: 'GET',
        url,
      });
      out.push(...r.flavors.map(toFlavor));
      url = r.flavors_links?.find((l) => l.rel === 'next')?.href;
    }
    return out;
  }

  async getFlavor(id: string): Promise<Flavor> {
    try {
      const r = await this.http.request<{ flavor: NovaFlavor }>(`flavor ${id}`, { method: 'GET', url: `/flavors/${encodeURIComponent(id)}` });
      return toFlavor(r.flavor);
    } catch (err) {
      if (err instanceof BackendNotFoundError) throw new ComputeNotFoundError('flavor', id);
      throw err;
    }
  }

  /** The zones Nova offers the caller, available ones only. */
  async availabilityZones(): Promise<string[]> {
    const r = await this.http.request<{ availabilityZoneInfo?: Array<{ zoneName: string; zoneState?: { available?: boolean } }> }>('availability zones', {
      method: 'GET',
      url: '/os-availability-zone',
    });
    return (r.availabilityZoneInfo ?? []).filter((z) => z.zoneState?.available !== false).map((z) => z.zoneName);
  }
}

// Glance (image v2) behind the ImageService interface.
import { ImageNotFoundError, type Image, type ImageService } from '../image.js';
import { BackendNotFoundError } from './errors.js';
import { HttpDriver, type DriverOptions } from './http.js';

interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  tags?: string[];
}

const toImage = (i: GlanceImage): Image => ({ id: i.id, name: i.name ?? '', status: i.status, tags: i.tags ?? [] });

export class GlanceImages implements ImageService {
  private readonly http: HttpDriver;

  constructor(o: DriverOptions) {
    // The catalog URL may or may not carry /v2.
    this.http = new HttpDriver('image', { ...o, endpoint: async () => (await o.endpoint()).replace(/\/+$/, '').replace(/\/v2$/, '') });
  }

  async getImage(id: string): Promise<Image> {
    try {
      return toImage(await this.http.request<GlanceImage>(`image ${id}`, { method: 'GET', url: `/v2/images/${encodeURIComponent(id)}` }));
    } catch (err) {
      if (err instanceof BackendNotFoundError) throw new ImageNotFoundError(id);
      throw err;
    }
  }

  async findImagesByTags(tags: string[]): Promise<Image[]> {
    const pairs: Array<[string, string]> = [...tags.map((t): [string, string] => ['tag', t]), ['status', 'active'], ['sort', 'created_at:desc']];
    const params = new URLSearchParams(pairs);
    const r = await this.http.request<{ images: GlanceImage[] }>('images', { method: 'GET', url: `/v2/images?${params}` });
    return r.images.map(toImage);
  }
}

// Uploads a built image to Glance with the service identity of trove.conf (the project the
// taskmanager boots servers in), tagged trove and <datastore>, and waits for it to be active.
import { createReadStream, statSync } from 'node:fs';
import type { RawConfig } from '../../src/common/config/reader.js';
import { identityConfig, keystoneConfigured } from '../../src/clients/openstack/config.js';
import { serviceClients, serviceIdentity } from '../../src/clients/openstack/factory.js';
import { HttpDriver } from '../../src/clients/openstack/http.js';
import type { ImageManifest } from '../../src/clients/qemu/images.js';
import { UsageError } from '../trove-manage/context.js';

const GB = 1024 ** 3;

export async function uploadToGlance(raw: RawConfig, m: ImageManifest, file: string, say: (line: string) => void): Promise<string> {
  const identity = identityConfig(raw);
  if (!keystoneConfigured(identity))
    throw new UsageError('--upload needs a trove.conf with [service_credentials] (or [keystone_authtoken]): give --config-file.');
  const { endpointOptions } = serviceClients(identity, serviceIdentity(identity));
  const o = endpointOptions('image');
  const endpoint = async () => (await o.endpoint()).replace(/\/+$/, '').replace(/\/v2$/, '');
  const glance = new HttpDriver('image', { ...o, endpoint });
  const created = await glance.request<{ id: string }>('image create', {
    method: 'POST',
    url: '/v2/images',
    data: {
      name: `trove-${m.datastore}-${m.version}-${m.sha256.slice(0, 8)}`,
      disk_format: 'qcow2',
      container_format: 'bare',
      visibility: 'private',
      tags: ['trove', m.datastore],
      min_disk: Math.ceil(m.virtual_bytes / GB),
      min_ram: 512,
      trove_datastore: m.datastore,
      trove_datastore_version: m.version,
      trove_image_sha256: m.sha256,
    },
  });
  say(`uploading ${statSync(file).size} bytes to Glance as image ${created.id}`);
  const uploader = new HttpDriver('image', { ...o, endpoint, timeoutMs: 0 });
  await uploader.request('image upload', {
    method: 'PUT',
    url: `/v2/images/${created.id}/file`,
    data: createReadStream(file),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(statSync(file).size) },
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
  });
  for (const until = Date.now() + 600_000; ;) {
    const image = await glance.request<{ status: string }>(`image ${created.id}`, { method: 'GET', url: `/v2/images/${created.id}` });
    if (image.status === 'active') return created.id;
    if (['killed', 'deleted', 'deactivated'].includes(image.status)) throw new Error(`Glance image ${created.id} went ${image.status} after the upload`);
    if (Date.now() > until) throw new Error(`Glance image ${created.id} is still ${image.status} 10 minutes after the upload`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

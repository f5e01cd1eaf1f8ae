// Wire JSON for flavors (Trove's flavor/views.py): integer id or null, the Nova id in str_id.
import type { Flavor } from '../../../clients/compute.js';
import { resourceLinks, type LinkBase } from '../../links.js';

export function flavorView(base: LinkBase, f: Flavor, volumeSupport: boolean): Record<string, unknown> {
  const intId = /^-?\d+$/.test(f.id) ? Number(f.id) : null;
  return {
    id: intId,
    links: resourceLinks(base, 'flavors', f.id),
    name: f.name,
    ram: f.ram,
    vcpus: f.vcpus,
    disk: f.disk,
    ephemeral: f.ephemeral,
    str_id: f.id,
    ...(volumeSupport ? {} : { local_storage: f.ephemeral }),
  };
}

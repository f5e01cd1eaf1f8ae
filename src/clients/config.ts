// The [DEFAULT] keys that choose the drivers (read by src/clients/factory.ts): compute_driver for
// the compute, volume, network and object-store drivers, and the admin token that stands in for
// Keystone when [keystone_authtoken] auth_url is not set.
import { z } from 'zod';
import { opt } from '../common/config/schema.js';

export const computeDriverSection = z.object({
  /** (trove-ts) openstack: Nova/Cinder/Neutron; local: guest processes on this machine; qemu: guest
   * images booted in qemu virtual machines on this machine ([qemu], the VM test tier). */
  compute_driver: z.enum(['openstack', 'local', 'qemu']).default('openstack'),
});

export type ComputeDriverName = z.output<typeof computeDriverSection>['compute_driver'];

/** Identity without Keystone: a fixed admin token for one project (all-in-one, loopback only). */
export const adminTokenSection = z.object({
  admin_token: opt.optStr(),
  admin_project_id: opt.str('admin'),
});

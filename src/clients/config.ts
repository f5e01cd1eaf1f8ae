// [DEFAULT] compute_driver: which drivers stand behind the compute, volume and network interfaces
// (read by the API for flavors and volume types, and by the taskmanager for its flows).
import { z } from 'zod';

export const computeDriverSection = z.object({
  /** (trove-ts) openstack: Nova/Cinder/Neutron; local: guest processes on this machine; qemu: guest
   * images booted in qemu virtual machines on this machine ([qemu], the VM test tier). */
  compute_driver: z.enum(['openstack', 'local', 'qemu']).default('openstack'),
});

// [qemu]: the compute driver that boots each instance's guest image in a qemu virtual machine on
// this machine (compute_driver = qemu): where the images, servers and volumes are, how qemu runs,
// and the VM's only ways in and out (user-mode networking, restricted).
import path from 'node:path';
import { z } from 'zod';
import { opt } from '../../common/config/schema.js';

export const qemuSection = z.object({
  /** Servers (overlay disk, config drive, console log, qemu's pid and QMP socket) and volumes (qcow2
   * files): servers/<id>/ and volumes/ below it ('' = [local] state_dir). */
  state_dir: opt.optStr(),
  /** Where `trove-manage guest_image_build` put the images: <datastore>.qcow2 and its <datastore>.json (the image id). */
  image_dir: opt.str(path.resolve('.state/images')),
  qemu_bin: opt.str('qemu-system-x86_64'),
  qemu_img_bin: opt.str('qemu-img'),
  /** Makes the config drive (ISO 9660, label config-2). */
  mkisofs_bin: opt.str('genisoimage'),
  /** Runs once per guest connection to the bus: the guestfwd's far end (stdin/stdout to host:port). */
  socat_bin: opt.str('socat'),
  /** kvm, tcg (software emulation), or auto: kvm when /dev/kvm can be opened. */
  accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  /** Published engine ports listen on 127.0.<subnet>.2-254 (one address per VM), as local instances
   * do ('' = [local] address_subnet). */
  address_subnet: opt.optStr(),
  /** The guest ports published on the VM's address (hostfwd): every engine's. */
  published_ports: opt.list(['3306', '5432', '6379']),
  /** The address the guest reaches the bus at (a guestfwd to the transport_url's host and port). */
  bus_address: opt.str('10.0.2.100'),
  /** Seconds a deleted or stopped VM has to power off (ACPI) before qemu is stopped. */
  shutdown_timeout: opt.int(30, 0),
});

export type QemuConfig = Omit<z.output<typeof qemuSection>, 'state_dir' | 'address_subnet'> & { state_dir: string; address_subnet: number };

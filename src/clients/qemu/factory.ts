// The taskmanager's drivers for compute_driver = qemu: VMs and qcow2 volumes on this machine, the
// flavors of [local] flavors, no firewall to program (a VM's only open ports are its published
// ones), backups in the local object directory.
import type { RawConfig } from '../../common/config/reader.js';
import { configSection } from '../../common/config/schema.js';
import { ConfigError } from '../../common/errors.js';
import { localSection } from '../local/config.js';
import { parseFlavors } from '../local/compute.js';
import { LocalNetwork } from '../local/network.js';
import { LocalObjectStore } from '../local/object-store.js';
import { qemuSection, type QemuConfig } from './config.js';
import { QemuCompute } from './compute.js';
import { QemuVolumes } from './volumes.js';

export function qemuFlowDrivers(raw: RawConfig) {
  const local = configSection(raw, 'local', localSection);
  const section = configSection(raw, 'qemu', qemuSection);
  const subnet = section.address_subnet === undefined ? local.address_subnet : Number(section.address_subnet);
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255)
    throw new ConfigError(`trove.conf [qemu] address_subnet: expected an integer from 0 to 255, got ${section.address_subnet}`);
  const q: QemuConfig = { ...section, state_dir: section.state_dir ?? local.state_dir, address_subnet: subnet };
  const volumes = new QemuVolumes(q);
  const objects = new LocalObjectStore(local);
  return {
    compute: new QemuCompute(q, parseFlavors(local.flavors), (id) => volumes.file(id)),
    volumes,
    network: new LocalNetwork(),
    objectStore: () => objects,
  };
}

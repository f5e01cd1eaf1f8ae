// [local]: the all-in-one drivers — instances as local guest agent processes, each on its own
// loopback address, volumes and backups as directories.
import path from 'node:path';
import { z } from 'zod';
import { opt } from '../../common/config/schema.js';
import { runtimeDirKey } from '../../common/runtime-dir.js';

export const localSection = z.object({
  /** Where servers, volumes and backups live. */
  state_dir: opt.str(path.resolve('.state/local')),
  /** Instances get 127.0.<subnet>.2-254, so every engine listens on its standard port. */
  address_subnet: opt.int(77, 0, 255),
  /** Ports an engine may listen on: an address is handed out only when all of them are free on it. */
  probe_ports: opt.list(['3306', '5432', '6379']),
  /** Flavors offered: id:name:ram_mb:vcpus:disk_gb, comma-separated. */
  flavors: opt.str('1:ds512M:512:1:5,2:ds1G:1024:1:10,3:ds2G:2048:2:20,4:ds4G:4096:4:40'),
  /** The guest agent's executable (node script). */
  guestagent_bin: opt.str(path.resolve('bin/trove-guestagent.js')),
  /** An extra config file every guest reads after its own (what an image would carry in
   * /etc/trove/trove-guestagent.conf: engine sections, paths). */
  guest_config_file: opt.optStr(),
  /** Megabytes in one GB of a local volume (tests shrink it to fill a volume quickly). */
  volume_unit_mb: opt.int(1024, 1),
  /** The base of the unix sockets: the all-in-one bus's, and (given to each local instance as its [DEFAULT] runtime_dir) its engine's. */
  ...runtimeDirKey,
});

export type LocalConfig = z.output<typeof localSection>;

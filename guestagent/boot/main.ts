// trove-guest-boot: what a guest image does at every boot before its agent starts (the image's
// trove-guest-boot.service): the config drive's cloud-config applied (bootcmd, then the guest
// config written 0600 root's), the data volume formatted when blank and mounted. Its lines go to
// the console; when the agent cannot start (no config drive, no guest config, a volume it cannot
// mount) the last one says why, the line the taskmanager reads (src/common/guest-console.ts).
//   trove-guest-boot [--data-device /dev/vdb] [--data-mount /var/lib/trove/data] [--config-drive-wait 60]
import { parseArgs } from 'node:util';
import { cannotStartLine } from '../../src/common/guest-console.js';
import { applyCloudConfig, parseCloudConfig } from './cloud-config.js';
import { findConfigDrive, readConfigDrive } from './config-drive.js';
import { prepareDataVolume } from './data-volume.js';

const { values } = parseArgs({
  options: {
    'data-device': { type: 'string', default: '/dev/vdb' },
    'data-mount': { type: 'string', default: '/var/lib/trove/data' },
    'config-drive-wait': { type: 'string', default: '60' },
    'guest-config': { type: 'string', default: '/etc/trove/conf.d/guest_info.conf' },
  },
});

const say = (line: string) => process.stderr.write(`trove-guest-boot: ${line}\n`);

async function boot(): Promise<void> {
  const device = await findConfigDrive(Number(values['config-drive-wait']) * 1000);
  if (!device)
    throw new Error(`no config drive (a filesystem labelled config-2) appeared within ${values['config-drive-wait']} s: the guest has no configuration`);
  const drive = await readConfigDrive(device);
  say(`config drive ${device} read (instance ${String(drive.metaData.uuid ?? 'unknown')})`);
  if (!drive.userData) throw new Error('the config drive has no user_data: the guest has no configuration');
  const config = parseCloudConfig(drive.userData);
  const { failedCommands } = await applyCloudConfig(config, say);
  if (failedCommands) say(`${failedCommands} bootcmd command(s) failed (see above)`);
  if (!config.writeFiles.some((f) => f.path === values['guest-config']))
    throw new Error(`the config drive's user_data writes no ${values['guest-config']}: the guest has no configuration`);
  say(await prepareDataVolume(values['data-device']!, values['data-mount']!));
}

try {
  await boot();
} catch (err) {
  process.stderr.write(cannotStartLine((err as Error).message));
  process.exit(1);
}

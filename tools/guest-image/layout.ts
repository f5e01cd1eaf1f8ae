// What the builder adds to the engine's tree to make it a trove-ts guest: Node.js and the agent,
// the two units (trove-guest-boot: config drive and data volume; trove-guestagent), the agent's
// image-side configuration, DHCP on every NIC, the root filesystem in fstab, and the bootloader's
// configuration (a BIOS boot: grub's core image goes into the disk's first megabyte, disk.ts).
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where the data volume is mounted in the guest; every engine keeps its data below it. */
export const DATA_MOUNT = '/var/lib/trove/data';
export const DATA_DEVICE = '/dev/vdb';
const AGENT_DIR = '/opt/trove-guestagent';
const NODE = '/usr/local/bin/node';

export const GUEST_AGENT_CONF = `# written by trove-manage guest_image_build: the image's part of the guest agent's configuration.
# The instance's part (guest_info.conf: its id, datastore, bus and keys) comes from the config drive.
[DEFAULT]
state_dir = /var/lib/trove-guestagent
# the data volume (${DATA_DEVICE}, formatted at its first boot by trove-guest-boot) is mounted here
data_mount_point = ${DATA_MOUNT}
log_level = info
# the agent's code: the mgmt upgrade call installs a new agent package here and restarts the agent
agent_install_dir = ${AGENT_DIR}
`;

const BOOT_UNIT = `[Unit]
Description=trove-ts guest: the config drive's configuration and the data volume
After=local-fs.target systemd-udev-settle.service systemd-udev-trigger.service
Wants=systemd-udev-trigger.service
Before=trove-guestagent.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${NODE} ${AGENT_DIR}/trove-guest-boot.mjs --data-device ${DATA_DEVICE} --data-mount ${DATA_MOUNT}
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

// exit code 78: a configuration that cannot work (the bus refused the login): not restarted
const AGENT_UNIT = `[Unit]
Description=trove-ts guest agent
Requires=trove-guest-boot.service
After=trove-guest-boot.service network-online.target
Wants=network-online.target
ConditionPathExists=/etc/trove/conf.d/guest_info.conf

[Service]
ExecStart=${NODE} ${AGENT_DIR}/trove-guestagent.mjs --config-file /etc/trove/conf.d/guest_info.conf --config-file /etc/trove/trove-guestagent.conf
Restart=on-failure
RestartSec=5
RestartPreventExitStatus=78
TimeoutStopSec=120
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

const NETWORK = `[Match]
Name=en* eth*

[Network]
DHCP=yes
`;

/** The kernel version the tree boots (its only /boot/vmlinuz-*). */
export function kernelOf(root: string): string {
  const kernels = readdirSync(path.join(root, 'boot'))
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length));
  if (kernels.length !== 1) throw new Error(`the image should have one kernel, it has ${kernels.length}: ${kernels.join(', ')}`);
  return kernels[0]!;
}

export function grubConfig(rootUuid: string, kernel: string): string {
  return `# written by trove-manage guest_image_build
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set default=0
menuentry 'trove-ts guest' {
  insmod part_msdos
  insmod ext2
  search --no-floppy --fs-uuid --set=root ${rootUuid}
  linux /boot/vmlinuz-${kernel} root=UUID=${rootUuid} ro console=tty0 console=ttyS0,115200n8
  initrd /boot/initrd.img-${kernel}
}
`;
}

const write = (root: string, file: string, body: string, mode = 0o644) => {
  const p = path.join(root, file);
  mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
  writeFileSync(p, body, { mode });
  chmodSync(p, mode);
};

/** What a database guest never reads, left out of the image (about 150 MB unpacked): apt's package
 * lists (an `apt-get update` brings them back), manuals, documentation but its copyright files,
 * translations. */
function slim(root: string): void {
  const empty = (dir: string, keep: (name: string) => boolean = () => false) => {
    const d = path.join(root, dir);
    for (const name of existsSync(d) ? readdirSync(d) : []) if (!keep(name)) rmSync(path.join(d, name), { recursive: true, force: true });
  };
  empty('var/lib/apt/lists', (n) => n === 'partial');
  empty('usr/share/man');
  empty('usr/share/locale');
  const docs = path.join(root, 'usr/share/doc');
  for (const pkg of existsSync(docs) ? readdirSync(docs) : []) empty(path.join('usr/share/doc', pkg), (n) => n === 'copyright');
}

/** The units the image enables (systemctl enable in the tree). */
export const ENABLED_UNITS = ['systemd-networkd.service', 'systemd-resolved.service', 'trove-guest-boot.service', 'trove-guestagent.service'];

/** Adds the guest's files to the tree at `root` (the units are enabled after: ENABLED_UNITS). */
export function layOut(root: string, o: { rootUuid: string; agentDir: string; nodeBin: string; hostname?: string }): { kernel: string } {
  const kernel = kernelOf(root);
  mkdirSync(path.join(root, AGENT_DIR.slice(1)), { recursive: true, mode: 0o755 });
  for (const f of ['trove-guestagent.mjs', 'trove-guest-boot.mjs']) copyFileSync(path.join(o.agentDir, f), path.join(root, AGENT_DIR.slice(1), f));
  mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
  copyFileSync(o.nodeBin, path.join(root, NODE.slice(1)));
  chmodSync(path.join(root, NODE.slice(1)), 0o755);
  write(root, 'etc/trove/trove-guestagent.conf', GUEST_AGENT_CONF, 0o600);
  mkdirSync(path.join(root, 'etc/trove/conf.d'), { recursive: true, mode: 0o700 });
  write(root, 'etc/systemd/system/trove-guest-boot.service', BOOT_UNIT);
  write(root, 'etc/systemd/system/trove-guestagent.service', AGENT_UNIT);
  write(root, 'etc/systemd/network/80-trove-dhcp.network', NETWORK);
  const hostname = o.hostname ?? 'trove-guest';
  write(root, 'etc/hostname', `${hostname}\n`);
  write(root, 'etc/hosts', `127.0.0.1 localhost\n127.0.1.1 ${hostname}\n::1 localhost ip6-localhost ip6-loopback\n`);
  write(root, 'etc/fstab', `UUID=${o.rootUuid} / ext4 defaults,noatime,errors=remount-ro 0 1\n`);
  // every VM made from the image gets its own machine id at its first boot
  write(root, 'etc/machine-id', '', 0o444);
  rmSync(path.join(root, 'var/lib/dbus/machine-id'), { force: true });
  slim(root);
  // grub's modules where its core image looks for them ($prefix = (hd0,msdos1)/boot/grub)
  cpSync(path.join(root, 'usr/lib/grub/i386-pc'), path.join(root, 'boot/grub/i386-pc'), { recursive: true });
  write(root, 'boot/grub/grub.cfg', grubConfig(o.rootUuid, kernel));
  return { kernel };
}

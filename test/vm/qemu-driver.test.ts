// The qemu compute driver's own mechanics on a real qemu with an image that boots nothing (quick:
// no guest): the VM's network restricted (out: only the bus's guestfwd; in: the published ports on
// the server's own loopback address), its config drive and disks, ACTIVE while qemu runs, ERROR
// with the reason when qemu dies, delete stops it and removes every file, an unknown image refused;
// the config drive as the guest reads it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QemuCompute } from '../../src/clients/qemu/compute.js';
import { makeConfigDrive } from '../../src/clients/qemu/config-drive.js';
import { userData } from '../../src/clients/openstack/nova-servers.js';
import { qemuSection } from '../../src/clients/qemu/config.js';
import { QemuVolumes } from '../../src/clients/qemu/volumes.js';
import { parseFlavors } from '../../src/clients/local/compute.js';
import { vmTest } from '../helpers/vm-tier.js';
import { killUnder, processesUnder, reapOnExit } from '../helpers/reap.js';
import { claimSubnet, releaseSubnet } from '../helpers/subnets.js';
import { blankImage } from '../helpers/vm-image.js';

// each test on a loopback subnet of its own among every running test's (address claims are per state directory)
function setup(t: { teardown(fn: () => unknown): void }) {
  const subnet = claimSubnet();
  const dir = mkdtempSync(path.join(tmpdir(), 'trove-qemu-'));
  reapOnExit(dir);
  t.teardown(async () => {
    await killUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    releaseSubnet(subnet);
  });
  const images = path.join(dir, 'images');
  const id = blankImage(images, 'x');
  const config = { ...qemuSection.parse({ image_dir: images, shutdown_timeout: '2' }), state_dir: dir, address_subnet: subnet };
  const volumes = new QemuVolumes(config);
  const compute = new QemuCompute(config, parseFlavors('1:tiny:256:1:1'), (v) => volumes.file(v));
  return { dir, imageId: id, compute, volumes };
}

const guestConfig = '[DEFAULT]\nguest_id = i-1\ntransport_url = rabbit://trove-guest-i-1:pw-xyz@127.0.0.1:5672/vh\n';

vmTest('a server: qemu with the restricted network, the published ports on its own address, config drive and volume; delete removes it all', async (t) => {
  const { dir, imageId, compute, volumes } = setup(t);
  const volume = await volumes.ensureVolume('trove-i-1', 1);
  const flavor = await compute.getFlavor('1');
  const s = await compute.createServer({ instanceId: 'i-1', name: 'db', flavor, imageId, guestConfig, volumeId: volume.id });
  t.is(s.status, 'ACTIVE');
  const address = s.addresses[0]!.address;
  t.regex(address, /^127\.0\.\d+\.\d+$/);
  const serverDir = path.join(dir, 'servers', 'i-1');
  const [pid] = processesUnder(serverDir);
  t.truthy(pid);
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const netdev = args[args.indexOf('-netdev') + 1]!;
  t.regex(netdev, /^user,id=net0,restrict=on,/);
  t.true(netdev.includes('guestfwd=tcp:10.0.2.100:5672-cmd:socat - TCP:127.0.0.1:5672'));
  for (const p of [3306, 5432, 6379]) t.true(netdev.includes(`hostfwd=tcp:${address}:${p}-:${p}`));
  t.true(
    args.some((a) => a.startsWith(`file=${volumes.file(volume.id)},if=none,id=vol0`)),
    'the volume is the second virtio disk',
  );
  t.true(args.includes(`virtio-blk-pci,drive=vol0,serial=${volume.id.slice(0, 20)}`));
  t.true(args.some((a) => a.includes('config.iso,if=ide,media=cdrom,readonly=on')));
  // the published port listens on the server's address only
  const listening = execFileSync('ss', ['-Hltn']).toString();
  t.true(listening.includes(`${address}:3306`));
  // the guest sees the bus at the guestfwd address, with its own credentials
  t.is(readFileSync(path.join(serverDir, 'guest.conf'), 'utf8'), guestConfig.replace('127.0.0.1:5672', '10.0.2.100:5672'));
  t.is(await compute.consoleOutput('i-1', 10), '', 'the serial console is read (nothing boots here)');
  t.deepEqual(await compute.findServerForInstance('i-1'), s);
  await compute.rebootServer('i-1');
  t.is((await compute.getServer('i-1')).status, 'ACTIVE', 'a reboot resets the VM, qemu keeps running');

  await compute.deleteServer('i-1');
  t.deepEqual(processesUnder(serverDir), []);
  t.false(existsSync(serverDir));
  t.deepEqual(readdirSync(path.join(dir, 'addresses')), [], 'its address is free again');
  await t.throwsAsync(compute.getServer('i-1'), { message: /server i-1 not found/ });
  await volumes.deleteVolume(volume.id);
  t.false(existsSync(volumes.file(volume.id)));
});

vmTest('qemu that dies is an ERROR server with the reason; an unknown image is refused before anything starts', async (t) => {
  const { dir, imageId, compute } = setup(t);
  const flavor = await compute.getFlavor('1');
  await compute.createServer({ instanceId: 'i-2', name: 'db', flavor, imageId, guestConfig });
  for (const pid of processesUnder(path.join(dir, 'servers', 'i-2'))) process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  t.like(await compute.getServer('i-2'), { status: 'ERROR', fault: 'the virtual machine (qemu) is not running' });
  await compute.deleteServer('i-2');
  await t.throwsAsync(compute.createServer({ instanceId: 'i-3', name: 'db', flavor, imageId: 'no-such-image', guestConfig }), {
    message: /no guest image no-such-image in .* \(build one with trove-manage guest_image_build\)/,
  });
});

vmTest('the config drive: an ISO label config-2, meta_data.json with the instance, user_data the cloud-config the Nova driver sends, 0600', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-drive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.iso');
  const guestConfig = '[DEFAULT]\nguest_id = x\ntransport_url = rabbit://u:p@10.0.2.100:5672/v\n';
  await makeConfigDrive(file, { instanceId: 'inst-1', name: 'My DB_1', guestConfig, mkisofs: 'genisoimage' });
  t.is(statSync(file).mode & 0o777, 0o600);
  t.regex(execFileSync('isoinfo', ['-d', '-i', file]).toString(), /Volume id: config-2/);
  const read = (p: string) => execFileSync('isoinfo', ['-R', '-i', file, '-x', p]).toString();
  t.is(read('/openstack/latest/user_data'), Buffer.from(userData(guestConfig), 'base64').toString());
  t.like(JSON.parse(read('/openstack/latest/meta_data.json')), { uuid: 'inst-1', name: 'My DB_1', hostname: 'my-db-1', meta: { trove_instance_id: 'inst-1' } });
});

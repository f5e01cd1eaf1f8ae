// The qemu driver's config drive: the guest's view of the bus (each broker a guestfwd port at the
// bus address, credentials and vhost kept), and the ISO as Nova makes it (label config-2, the
// drivers' cloud-config as user_data, 0600 on this machine).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { userData } from '../openstack/nova-servers.js';
import { guestBusView, makeConfigDrive } from './config-drive.js';

const conf = (url: string) => `[DEFAULT]\nguest_id = x\ntransport_url = ${url}\ncontrol_exchange = trove\n`;

test('each broker of the transport_url becomes a port at the bus address, forwarded to its host and port', (t) => {
  const one = guestBusView(conf('rabbit://trove-guest-x:p%40ss@127.0.0.1:5672/trove-vhost'), '10.0.2.100');
  t.is(one.config, conf('rabbit://trove-guest-x:p%40ss@10.0.2.100:5672/trove-vhost'));
  t.deepEqual(one.forwards, [{ guestPort: 5672, host: '127.0.0.1', port: 5672 }]);

  const two = guestBusView(conf('rabbit://u:p@rabbit-a:5673,u:p@[::1]/'), '10.0.2.100');
  t.is(two.config, conf('rabbit://u:p@10.0.2.100:5672,u:p@10.0.2.100:5673/'));
  t.deepEqual(two.forwards, [
    { guestPort: 5672, host: 'rabbit-a', port: 5673 },
    { guestPort: 5673, host: '::1', port: 5672 },
  ]);
});

test('a unix-socket bus cannot reach a VM: refused with the reason', (t) => {
  t.throws(() => guestBusView(conf('unix://trove-guest-x:pw@/run/trove-ts/abc/bus.sock'), '10.0.2.100'), { message: /needs a rabbit:\/\/ transport_url/ });
});

test('the ISO: label config-2, meta_data.json with the instance, user_data the cloud-config the Nova driver sends, 0600', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-drive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.iso');
  const guestConfig = conf('rabbit://u:p@10.0.2.100:5672/v');
  await makeConfigDrive(file, { instanceId: 'inst-1', name: 'My DB_1', guestConfig, mkisofs: 'genisoimage' });
  t.is(statSync(file).mode & 0o777, 0o600);
  t.regex(execFileSync('isoinfo', ['-d', '-i', file]).toString(), /Volume id: config-2/);
  const read = (p: string) => execFileSync('isoinfo', ['-R', '-i', file, '-x', p]).toString();
  t.is(read('/openstack/latest/user_data'), Buffer.from(userData(guestConfig), 'base64').toString());
  t.like(JSON.parse(read('/openstack/latest/meta_data.json')), { uuid: 'inst-1', name: 'My DB_1', hostname: 'my-db-1', meta: { trove_instance_id: 'inst-1' } });
});

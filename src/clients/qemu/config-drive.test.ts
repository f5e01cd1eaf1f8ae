// The qemu driver's view of the bus for its guest: each broker a guestfwd port at the bus address,
// credentials and vhost kept. The config drive itself (genisoimage) is checked in the VM tier
// (test/vm/qemu-driver.test.ts).
import test from 'ava';
import { guestBusView } from './config-drive.js';

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

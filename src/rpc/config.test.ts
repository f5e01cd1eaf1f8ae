import test from 'ava';
import { parseSocketUrl, socketUrl } from './transports/socket.js';
import { configSection } from '../common/config/schema.js';
import { amqpUrls, createTransport, messagingDefaults, rabbitSection } from './config.js';
import { quietLog } from '../../test/helpers/transport.contract.js';
import { MemoryTransport } from './transports/memory.js';
import { AmqpTransport } from './transports/amqp.js';

test('rabbit:// URLs become one amqp:// URL per broker, with the vhost', (t) => {
  t.deepEqual(amqpUrls('rabbit://u:p@h1:5672,u:p@h2:5672/prod'), ['amqp://u:p@h1:5672/prod', 'amqp://u:p@h2:5672/prod']);
  t.deepEqual(amqpUrls('rabbit://guest:guest@127.0.0.1:5672/'), ['amqp://guest:guest@127.0.0.1:5672/']);
  t.deepEqual(amqpUrls('rabbit://guest:guest@127.0.0.1:5672'), ['amqp://guest:guest@127.0.0.1:5672/']);
  t.deepEqual(amqpUrls('rabbit://u:p@h:5671/v?x=1', true), ['amqps://u:p@h:5671/v']);
  t.throws(() => amqpUrls('amqp://u:secret@h/'), { message: /rabbit:\/\/.*got amqp:\/\/\*\*\*@h\// });
});

test('[DEFAULT] messaging keys: defaults, and a bad transport_url names the key', (t) => {
  t.deepEqual(configSection({}, 'DEFAULT', messagingDefaults), { transport_url: '', control_exchange: 'trove', rpc_response_timeout: 60 });
  const c = configSection({ DEFAULT: { transport_url: 'rabbit://a:b@h1:5672,a:b@h2:5672/trove', rpc_response_timeout: '15' } }, 'DEFAULT', messagingDefaults);
  t.is(c.rpc_response_timeout, 15);
  t.throws(() => configSection({ DEFAULT: { transport_url: 'kafka://h:9092' } }, 'DEFAULT', messagingDefaults), {
    message: /trove.conf \[DEFAULT\] transport_url: expected rabbit:\/\//,
  });
  t.is(configSection({ DEFAULT: { transport_url: 'unix:///run/trove/bus.sock' } }, 'DEFAULT', messagingDefaults).transport_url, 'unix:///run/trove/bus.sock');
  // a guest's own user on the all-in-one bus
  t.is(
    configSection({ DEFAULT: { transport_url: 'unix://trove-guest-i1:p%2Fw@/run/trove/bus.sock' } }, 'DEFAULT', messagingDefaults).transport_url,
    'unix://trove-guest-i1:p%2Fw@/run/trove/bus.sock',
  );
  t.throws(() => configSection({ DEFAULT: { transport_url: 'unix://host/run/bus.sock' } }, 'DEFAULT', messagingDefaults), { message: /transport_url/ });
});

test('unix transport_url: the socket path and the credentials, percent-decoded', (t) => {
  t.deepEqual(parseSocketUrl('unix:///run/trove/bus.sock'), { path: '/run/trove/bus.sock' });
  t.deepEqual(parseSocketUrl('unix://trove-guest-i1:p%2Fw%40x@/run/trove/bus.sock'), {
    path: '/run/trove/bus.sock',
    credentials: { user: 'trove-guest-i1', password: 'p/w@x' },
  });
  t.is(socketUrl('/run/bus.sock', { user: 'trove-guest-i1', password: 'p/w@x' }), 'unix://trove-guest-i1:p%2Fw%40x@/run/bus.sock');
  t.deepEqual(parseSocketUrl(socketUrl('/run/bus.sock', { user: 'u', password: 'a:b' })).credentials, { user: 'u', password: 'a:b' });
});

test('[oslo_messaging_rabbit] keys and their defaults', (t) => {
  t.deepEqual(configSection({}, 'oslo_messaging_rabbit', rabbitSection), {
    heartbeat_timeout_threshold: 60,
    rabbit_retry_interval: 1,
    rabbit_retry_backoff: 2,
    rabbit_interval_max: 30,
    rabbit_qos_prefetch_count: 16,
    ssl: false,
    ssl_ca_file: '',
  });
  t.throws(() => configSection({ oslo_messaging_rabbit: { rabbit_retry_interval: 'soon' } }, 'oslo_messaging_rabbit', rabbitSection), {
    message: /\[oslo_messaging_rabbit\] rabbit_retry_interval: expected an integer/,
  });
});

test('createTransport: in-process without a URL, AMQP with rabbit://', async (t) => {
  const mem = createTransport(configSection({}, 'DEFAULT', messagingDefaults), quietLog);
  t.true(mem instanceof MemoryTransport);
  const amqp = createTransport(configSection({ DEFAULT: { transport_url: 'rabbit://g:g@127.0.0.1:1/' } }, 'DEFAULT', messagingDefaults), quietLog);
  t.true(amqp instanceof AmqpTransport);
  t.is(amqp.state, 'connecting', 'nothing connects before the first operation');
  await amqp.close();
  await mem.close();
});

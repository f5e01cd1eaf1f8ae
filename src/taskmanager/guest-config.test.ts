import test from 'ava';
import { parseIni } from '../common/config/reader.js';
import { renderGuestConfig } from './guest-config.js';

const messaging = { transport_url: 'rabbit://trove:service-secret@10.0.0.5:5672/', control_exchange: 'trove', rpc_response_timeout: 60 };

test("guest_info reads back as the taskmanager meant it, values with INI's special characters included", (t) => {
  const transportUrl = 'rabbit://trove-guest-i-1:p#w;d=x "q"@10.0.0.5:5672/trove';
  const text = renderGuestConfig(
    {
      instanceId: '0b7c3f52-5d0e-4c41-9c55-0a7d2c1f0001',
      tenantId: ' tenant;1 ',
      manager: 'mariadb',
      version: '11.4',
      reportInterval: 5,
      rpcKey: 'rpc+Key/with==',
      backupKey: '#backup;key',
    },
    messaging,
    transportUrl,
  );
  t.true(text.startsWith('# written by trove-taskmanager\n[DEFAULT]\n'));
  t.deepEqual(parseIni(text, 'guest_info'), {
    DEFAULT: {
      guest_id: '0b7c3f52-5d0e-4c41-9c55-0a7d2c1f0001',
      datastore_manager: 'mariadb',
      datastore_version: '11.4',
      tenant_id: ' tenant;1 ',
      transport_url: transportUrl,
      control_exchange: 'trove',
      rpc_response_timeout: '60',
      report_interval: '5',
      instance_rpc_encr_key: 'rpc+Key/with==',
      backup_aes_cbc_key: '#backup;key',
    },
  });
  t.false(text.includes('service-secret'), "the service's own bus credentials are not the guest's");
});

test('no keys: plain messages, no key lines', (t) => {
  const text = renderGuestConfig(
    { instanceId: 'i-1', tenantId: 'p', manager: 'redis', version: '7', reportInterval: 30, rpcKey: null, backupKey: null },
    messaging,
    'rabbit://g:pw@h:5672/',
  );
  const conf = parseIni(text, 'guest_info').DEFAULT!;
  t.false('instance_rpc_encr_key' in conf);
  t.false('backup_aes_cbc_key' in conf);
  t.regex(text, /^guest_id = i-1$/m);
});

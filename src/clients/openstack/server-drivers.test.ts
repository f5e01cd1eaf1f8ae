// The taskmanager's OpenStack drivers: request shapes and error mapping (nock for the HTTP side).
import test from 'ava';
import nock from 'nock';
import { NovaServers, GUEST_CONFIG_PATH } from './nova-servers.js';
import { CinderVolumes } from './cinder-volumes.js';
import { NeutronNetwork } from './neutron.js';
import { ComputeNotFoundError } from '../compute.js';

const opts = (base: string) => ({ endpoint: async () => base, token: async () => 'svc' });
const flavor = { id: 'ds1G', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 };

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

test.serial('nova: boots from the image with the volume attached and the guest config in user_data', async (t) => {
  let body: Record<string, any> = {};
  nock('http://nova.t')
    .get('/v2.1/servers/detail')
    .reply(200, { servers: [] })
    .post('/v2.1/servers', (b) => ((body = b), true))
    .reply(202, { server: { id: 'srv-1' } });
  const nova = new NovaServers(opts('http://nova.t/v2.1'), ['mgmt-net']);
  const s = await nova.createServer({
    instanceId: 'inst-1',
    name: 'db1',
    flavor,
    imageId: 'img-1',
    guestConfig: '[DEFAULT]\nguest_id = inst-1\n',
    volumeId: 'vol-1',
    securityGroupIds: ['sg-1'],
  });
  t.is(s.id, 'srv-1');
  const srv = body.server;
  t.is(srv.flavorRef, 'ds1G');
  t.deepEqual(
    srv.block_device_mapping_v2.map((b: { uuid: string; boot_index: number }) => [b.uuid, b.boot_index]),
    [
      ['img-1', 0],
      ['vol-1', -1],
    ],
  );
  t.deepEqual(srv.networks, [{ uuid: 'mgmt-net' }]);
  t.deepEqual(srv.metadata, { trove_instance_id: 'inst-1' });
  const ud = Buffer.from(srv.user_data, 'base64').toString();
  t.true(ud.startsWith('#cloud-config'));
  t.true(ud.includes(GUEST_CONFIG_PATH));
  t.true(ud.includes('guest_id = inst-1'));
});

test.serial('nova: an existing server of the instance is reused; 404s map to our errors', async (t) => {
  nock('http://nova.t')
    .get('/v2.1/servers/detail')
    .reply(200, {
      servers: [
        { id: 'srv-9', name: 'x', status: 'ACTIVE', metadata: { trove_instance_id: 'inst-9' }, addresses: { net: [{ addr: '10.0.0.9', version: 4 }] } },
      ],
    });
  const nova = new NovaServers(opts('http://nova.t/v2.1'));
  const s = await nova.createServer({ instanceId: 'inst-9', name: 'x', flavor, imageId: 'i', guestConfig: '' });
  t.deepEqual(s, { id: 'srv-9', status: 'ACTIVE', addresses: [{ address: '10.0.0.9', type: 'private', network: 'net' }], fault: undefined });
  nock('http://nova.t').get('/v2.1/servers/gone').reply(404, {});
  await t.throwsAsync(nova.getServer('gone'), { instanceOf: ComputeNotFoundError });
  nock('http://nova.t').delete('/v2.1/servers/gone').reply(404, {});
  await t.notThrowsAsync(nova.deleteServer('gone'));
});

test.serial('cinder: a volume of the same name is reused; extend uses os-extend', async (t) => {
  let extend: unknown;
  nock('http://cinder.t')
    .get('/v3/p/volumes/detail?name=trove-a')
    .reply(200, { volumes: [{ id: 'v1', name: 'trove-a', status: 'available', size: 1 }] })
    .post('/v3/p/volumes/v1/action', (b) => ((extend = b), true))
    .reply(202);
  const cinder = new CinderVolumes(opts('http://cinder.t/v3/p'));
  t.deepEqual(await cinder.ensureVolume('trove-a', 1, null, null), { id: 'v1', status: 'available', size: 1 });
  await cinder.extendVolume('v1', 3);
  t.deepEqual(extend, { 'os-extend': { new_size: 3 } });
});

test.serial('neutron: creates the group with one ingress rule per port and cidr', async (t) => {
  const rules: unknown[] = [];
  nock('http://neutron.t')
    .get('/v2.0/security-groups?name=SecGroup_x')
    .reply(200, { security_groups: [] })
    .post('/v2.0/security-groups')
    .reply(201, { security_group: { id: '0b6a1f3e-1111-2222-3333-444455556666', name: 'SecGroup_x' } })
    .post('/v2.0/security-group-rules', (b) => (rules.push(b.security_group_rule), true))
    .times(2)
    .reply(201, {});
  const neutron = new NeutronNetwork(opts('http://neutron.t'));
  const id = await neutron.ensureSecurityGroup('SecGroup_x', [
    { protocol: 'tcp', port: 3306, cidr: '10.0.0.0/8' },
    { protocol: 'tcp', port: 3306, cidr: '192.168.0.0/16' },
  ]);
  t.is(id, '0b6a1f3e-1111-2222-3333-444455556666');
  t.deepEqual(
    rules.map((r: any) => [r.direction, r.port_range_min, r.remote_ip_prefix]),
    [
      ['ingress', 3306, '10.0.0.0/8'],
      ['ingress', 3306, '192.168.0.0/16'],
    ],
  );
});

test.serial("nova: a server's console output through os-getConsoleOutput (the guest agent's log before the server is removed)", async (t) => {
  let body: Record<string, any> = {};
  nock('http://nova.t')
    .post('/v2.1/servers/srv-1/action', (b) => ((body = b), true))
    .reply(200, { output: 'line 1\nprepare failed\n' });
  const nova = new NovaServers(opts('http://nova.t/v2.1'));
  t.is(await nova.consoleOutput('srv-1', 40), 'line 1\nprepare failed\n');
  t.deepEqual(body, { 'os-getConsoleOutput': { length: 40 } });
});

test("rebuild (an upgrade's new image) is Nova's rebuild action with the image; the volume attachments are Nova's to keep", async (t) => {
  let body: unknown;
  nock('http://nova.t')
    .post('/v2.1/servers/srv-1/action', (b) => ((body = b), true))
    .reply(202, { server: { id: 'srv-1', status: 'REBUILD' } });
  await new NovaServers(opts('http://nova.t/v2.1')).rebuildServer('srv-1', 'img-10.11.19');
  t.deepEqual(body, { rebuild: { imageRef: 'img-10.11.19' } });
  nock('http://nova.t')
    .post('/v2.1/servers/gone/action')
    .reply(404, { itemNotFound: { message: 'Instance gone could not be found.' } });
  const err = await t.throwsAsync(new NovaServers(opts('http://nova.t/v2.1')).rebuildServer('gone', 'img'));
  t.regex(err!.message, /gone/);
});

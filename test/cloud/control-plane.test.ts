// The whole control plane with compute_driver = openstack against the cloud lab: trove-api,
// taskmanager and conductor in-process (throwaway MariaDB database, RabbitMQ vhost), Keystone
// service credentials and the real catalog, no volumes (Cinder here cannot create any). A demo
// user's POST /instances boots a real Nova server from the datastore version's Glance image, with
// the instance's security group on its port; no guest ever boots (fake virt driver), so the
// instance ends in ERROR with a fault naming the guest, and nothing is left in Nova or Neutron.
// An instance made ACTIVE by a stand-in guest (reading its config from the server's user_data, as
// cloud-init would) is deleted with its server and security group.
import { parse as parseYaml } from 'yaml';
import anyTest from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import axios, { type AxiosInstance } from 'axios';
import { parseIni } from '../../src/common/config/reader.js';
import { createLogger } from '../../src/common/log.js';
import { transportFromConfig } from '../../src/rpc/config.js';
import { RpcClient } from '../../src/rpc/rpc.js';
import { guestSerializers } from '../../src/rpc/secure.js';
import { CONDUCTOR_TOPIC, conductorContract } from '../../src/rpc/contracts/conductor.js';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import {
  cloud,
  cloudTest,
  cloudTroveConfig,
  deleteImage,
  demoIdentity,
  managementNetworkId,
  rawClient,
  rawNova,
  serviceIdentity,
  uploadImage,
} from '../helpers/cloud-lab.js';

const test = await cloudTest(anyTest);
const svc = serviceIdentity();
const demo = demoIdentity();
// the whole build's deadline (boot included): on a loaded machine the fake driver's boots took over 30 s
const USAGE_TIMEOUT = 60;
const FLAVOR = cloud.CLOUD_FLAVORS!.split(':')[0]!;
const state: { cp?: ControlPlane; http?: AxiosInstance; imageId?: string; netId?: string; demoToken?: string } = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.before(async () => {
  state.netId = await managementNetworkId();
  state.imageId = await uploadImage(svc, `trove-ts-cloud-cp-${randomUUID().slice(0, 8)}`, ['trove', 'mariadb']);
  state.cp = await startControlPlane({
    config: {
      ...cloudTroveConfig(state.netId, { usage_timeout: String(USAGE_TIMEOUT), agent_call_low_timeout: '3', server_delete_time_out: '60' }),
      mariadb: { tcp_ports: '3306' },
    },
  });
  const ds = randomUUID();
  const v = randomUUID();
  await state.cp.tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: v });
  await state.cp.tdb
    .db('datastore_versions')
    .insert({ id: v, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', image_id: state.imageId, packages: '', active: true });
  state.demoToken = await demo.token();
  state.http = axios.create({
    baseURL: `${state.cp.api.url}/v1.0/${(await demo.info()).projectId}`,
    headers: { 'X-Auth-Token': state.demoToken },
    validateStatus: () => true,
    timeout: 30_000,
  });
});

test.after.always(async () => {
  await state.cp?.stop();
  if (state.imageId) await deleteImage(svc, state.imageId);
});

interface NovaServer {
  id: string;
  status: string;
  image: { id: string };
  flavor: { original_name: string };
  metadata: Record<string, string>;
  addresses: Record<string, Array<{ addr: string }>>;
}

/** The servers Nova really has for an instance (service project, where trove-ts creates them). */
async function serversOf(instanceId: string): Promise<NovaServer[]> {
  const r = await (await rawNova(svc)).get('/servers/detail');
  return (r.data.servers as NovaServer[]).filter((s) => s.metadata.trove_instance_id === instanceId);
}

async function securityGroupsNamed(name: string): Promise<Array<{ id: string }>> {
  return (await (await rawClient(svc, 'network')).get(`/v2.0/security-groups?name=${encodeURIComponent(name)}`)).data.security_groups;
}

async function untilActiveServer(instanceId: string): Promise<NovaServer> {
  // generous: on a loaded 2-core machine the fake driver's boots queue behind each other
  for (let i = 0; i < 180; i++) {
    const [s] = await serversOf(instanceId);
    // Nova may show ACTIVE before its network info cache has the port's address
    if (s?.status === 'ACTIVE' && Object.keys(s.addresses ?? {}).length) return s;
    if (s?.status === 'ERROR') throw new Error(`the Nova server of ${instanceId} went to ERROR`);
    await sleep(1000);
  }
  const i = (await state.http!.get(`/instances/${instanceId}`)).data?.instance;
  throw new Error(`no ACTIVE Nova server for ${instanceId}; the instance: ${JSON.stringify({ status: i?.status, fault: i?.fault })}`);
}

const create = (name: string) => state.http!.post('/instances', { instance: { name, flavorRef: FLAVOR, datastore: { type: 'mariadb', version: '10.11' } } });

test('POST /instances boots a Nova server; with no guest it ends in ERROR and leaves no server or security group', async (t) => {
  const started = Date.now();
  const r = await create('cloud-silent');
  t.is(r.status, 200, JSON.stringify(r.data));
  const id = r.data.instance.id as string;
  t.is(r.data.instance.status, 'BUILD');

  // the server really exists in Nova, built from the datastore version's image, on the network
  const server = await untilActiveServer(id);
  t.is(server.image.id, state.imageId!);
  t.is(server.flavor.original_name, FLAVOR);
  t.deepEqual(Object.keys(server.addresses), [cloud.CLOUD_NETWORK]);
  t.is((await serversOf(id)).length, 1);
  // its port carries the instance's security group, which opens the datastore's port
  const [group] = await securityGroupsNamed(`SecGroup_${id}`);
  t.truthy(group, 'the security group exists while the instance builds');
  const neutron = await rawClient(svc, 'network');
  const ports = (await neutron.get(`/v2.0/ports?device_id=${server.id}`)).data.ports as Array<{ security_groups: string[] }>;
  t.is(ports.length, 1);
  t.deepEqual(ports[0]!.security_groups, [group!.id]);
  const rules = (await neutron.get(`/v2.0/security-group-rules?security_group_id=${group!.id}&direction=ingress`)).data.security_group_rules as Array<
    Record<string, unknown>
  >;
  t.deepEqual(
    rules.map((x) => [x.protocol, x.port_range_min, x.port_range_max, x.remote_ip_prefix]),
    [['tcp', 3306, 3306, '0.0.0.0/0']],
  );
  const building = await state.http!.get(`/instances/${id}`);
  t.is(building.data.instance.status, 'BUILD');

  const failed = await waitForInstance(state.http!, id, (i) => i?.status === 'ERROR', (USAGE_TIMEOUT + 60) * 1000);
  t.true(Date.now() - started >= USAGE_TIMEOUT * 1000, 'ERROR only once usage_timeout has passed');
  const fault = failed!.fault as { message: string };
  t.regex(fault.message, /wait_guest/);
  t.regex(fault.message, /did not report|timed out/);

  // nothing left behind: no server (no port), no security group
  t.deepEqual(await serversOf(id), []);
  t.is((await (await rawNova(svc)).get(`/servers/${server.id}`)).status, 404);
  t.deepEqual(await securityGroupsNamed(`SecGroup_${id}`), []);
  t.deepEqual((await neutron.get(`/v2.0/ports?device_id=${server.id}`)).data.ports, []);
  const row = await state.cp!.tdb.db('instances').where({ id }).first();
  t.is(row.compute_instance_id, null);

  t.is((await state.http!.delete(`/instances/${id}`)).status, 202, 'an ERROR instance can be deleted');
  await waitForInstance(state.http!, id, (_i, s) => s === 404, 60_000);
});

/**
 * Plays the guest of a server as a booted VM would: reads guest_info from the user_data Nova holds
 * for the server (cloud-init's write_files), and reports `healthy` to the conductor over the bus
 * with the instance's own key, every second until stopped.
 */
async function actAsGuest(serverId: string): Promise<() => Promise<void>> {
  const show = (await (await rawNova(svc)).get(`/servers/${serverId}`)).data.server;
  const doc = Buffer.from(String(show['OS-EXT-SRV-ATTR:user_data']), 'base64').toString();
  const content = (parseYaml(doc.replace(/^#cloud-config\n/, '')) as { write_files: Array<{ path: string; content: string }> }).write_files.find((f) =>
    f.path.endsWith('guest_info.conf'),
  )!.content;
  const raw = parseIni(content, 'user_data');
  const guestId = raw.DEFAULT!.guest_id!;
  const log = createLogger('fake-guest', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  // as guestagent/main.ts connects: with the guest's own bus user, which may publish only to the
  // conductor (no service queue declared) and answers through the callers' reply exchanges
  const transport = transportFromConfig(raw, log, { repliesViaExchange: true });
  const client = new RpcClient(transport, log, { timeoutMs: 10_000, declareServiceTopics: false });
  const conductor = client.stub(conductorContract, CONDUCTOR_TOPIC, { serializer: guestSerializers(guestId, raw.DEFAULT!.instance_rpc_encr_key).conductor });
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await conductor.heartbeat({ instance_id: guestId, payload: { service_status: 'healthy' }, sent: Date.now() / 1000 });
      await sleep(1000);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    await client.close();
    await transport.close();
  };
}

test.serial("nics and availability_zone are checked with the caller's token against the real Neutron and Nova; a refusal creates nothing", async (t) => {
  // the lab's Neutron has only its flat shared network (no tenant network type for another
  // project's private one): a network Neutron does not show the demo user is one it has not
  const foreign = randomUUID();
  const visible = ((await (await rawClient(demo, 'network')).get('/v2.0/networks')).data.networks as Array<{ id: string }>).map((n) => n.id);
  t.deepEqual(visible, [state.netId], 'the demo user sees the shared network');
  // other test files of the cloud tier boot servers in the same Nova at the same time: what this
  // test looks for is a server of its own name
  const refusedServers = async () =>
    ((await (await rawNova(svc)).get('/servers?all_tenants=1&name=%5Ecloud-refused%24')).data.servers as Array<{ id: string }>).map((x) => x.id);
  t.deepEqual(await refusedServers(), [], 'no server of this name before');
  const instancesBefore = (await state.http!.get('/instances')).data.instances.length;
  const post = (over: Record<string, unknown>) =>
    state.http!.post('/instances', { instance: { name: 'cloud-refused', flavorRef: FLAVOR, datastore: { type: 'mariadb', version: '10.11' }, ...over } });

  const r1 = await post({ nics: [{ 'net-id': foreign }] });
  t.is(r1.status, 400, JSON.stringify(r1.data));
  t.is(r1.data.badRequest.message, `Network ${foreign} could not be found.`);
  const r2 = await post({ availability_zone: 'no-such-az' });
  t.is(r2.status, 400, JSON.stringify(r2.data));
  t.is(r2.data.badRequest.message, 'The requested availability zone no-such-az is not available.');
  // a network the demo user sees passes Neutron's check; the zone is then what is refused
  const r3 = await post({ nics: [{ 'net-id': state.netId }], availability_zone: 'no-such-az' });
  t.is(r3.data.badRequest?.message, 'The requested availability zone no-such-az is not available.', JSON.stringify(r3.data));
  t.is((await state.http!.get('/instances')).data.instances.length, instancesBefore);
  t.deepEqual(await refusedServers(), [], 'no server was booted (so no port either: Nova makes them)');
});

test('DELETE of an ACTIVE instance removes its Nova server and its security group', async (t) => {
  const r = await create('cloud-deleted');
  t.is(r.status, 200, JSON.stringify(r.data));
  const id = r.data.instance.id as string;
  const server = await untilActiveServer(id);
  const stopGuest = await actAsGuest(server.id);
  t.teardown(stopGuest);
  const active = await waitForInstance(state.http!, id, (i) => i?.status === 'ACTIVE' || i?.status === 'ERROR', USAGE_TIMEOUT * 1000);
  t.is(active?.status, 'ACTIVE', JSON.stringify(active?.fault));
  t.is((await serversOf(id))[0]?.id, server.id);
  await stopGuest();

  t.is((await state.http!.delete(`/instances/${id}`)).status, 202);
  await waitForInstance(state.http!, id, (_i, s) => s === 404, 90_000);
  t.is((await (await rawNova(svc)).get(`/servers/${server.id}`)).status, 404, 'the server is gone from Nova');
  t.deepEqual(await serversOf(id), []);
  t.deepEqual(await securityGroupsNamed(`SecGroup_${id}`), []);
  t.deepEqual((await (await rawClient(svc, 'network')).get(`/v2.0/ports?device_id=${server.id}`)).data.ports, []);
});

test.after('no secret in the control plane logs', (t) => {
  const logs = state.cp!.logs.join('');
  t.true(logs.length > 0);
  t.false(logs.includes(cloud.TROVE_TS_PASS!), 'the service password');
  t.false(logs.includes(state.demoToken!), "the user's token");
});

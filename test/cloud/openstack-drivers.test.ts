// The OpenStack drivers against the real services of the cloud lab, with trove-ts's service user
// and the catalog: Glance (lookup by id and tags), Nova (flavors; a server booted from an uploaded
// image, found again by its instance id, ACTIVE with an address on the management network, then
// deleted and gone), Neutron (a security group and its rules), Cinder (volume types). Every value
// is checked against what the service itself answers over plain HTTP.
import anyTest from 'ava';
import { randomUUID } from 'node:crypto';
import { GlanceImages } from '../../src/clients/openstack/glance.js';
import { NovaServers, GUEST_CONFIG_PATH } from '../../src/clients/openstack/nova-servers.js';
import { NeutronNetwork } from '../../src/clients/openstack/neutron.js';
import { CinderBlockStorage } from '../../src/clients/openstack/cinder.js';
import { ComputeNotFoundError, type Server } from '../../src/clients/compute.js';
import { ImageNotFoundError } from '../../src/clients/image.js';
import {
  cloud,
  cloudTest,
  deleteImage,
  demoIdentity,
  driverOptions,
  managementNetworkId,
  rawClient,
  rawNova,
  serviceIdentity,
  uploadImage,
} from '../helpers/cloud-lab.js';

const test = await cloudTest(anyTest);
const svc = serviceIdentity();
const run = randomUUID().slice(0, 8);
const state: { imageId?: string; netId?: string } = {};

test.before(async () => {
  state.netId = await managementNetworkId();
  state.imageId = await uploadImage(svc, `trove-ts-cloud-${run}`, ['trove-ts-cloud', `run-${run}`]);
});
test.after.always(async () => {
  if (state.imageId) await deleteImage(svc, state.imageId);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('glance: an uploaded image by id and by its tags; an unknown id is ImageNotFoundError', async (t) => {
  const glance = new GlanceImages(driverOptions(svc, 'image'));
  const image = await glance.getImage(state.imageId!);
  t.is(image.id, state.imageId!);
  t.is(image.name, `trove-ts-cloud-${run}`);
  t.is(image.status, 'active');
  t.deepEqual([...image.tags].sort(), [`run-${run}`, 'trove-ts-cloud']);
  t.deepEqual(
    (await glance.findImagesByTags([`run-${run}`])).map((i) => i.id),
    [state.imageId],
  );
  t.deepEqual(
    (await glance.findImagesByTags(['trove-ts-cloud', `run-${run}`])).map((i) => i.id),
    [state.imageId],
  );
  t.deepEqual(await glance.findImagesByTags([`run-${run}`, 'no-such-tag']), []);
  await t.throwsAsync(glance.getImage(randomUUID()), { instanceOf: ImageNotFoundError });
});

test('nova: flavors as Nova has them; an unknown flavor is ComputeNotFoundError', async (t) => {
  const nova = new NovaServers(driverOptions(svc, 'compute'));
  const [name, vcpus, ram, disk] = cloud.CLOUD_FLAVORS!.split(',')[0]!.split(':');
  t.deepEqual(await nova.getFlavor(name!), { id: name!, name: name!, vcpus: Number(vcpus), ram: Number(ram), disk: Number(disk), ephemeral: 1 });
  const raw = await (await rawNova(svc)).get('/flavors');
  t.deepEqual((await nova.listFlavors()).map((f) => f.id).sort(), (raw.data.flavors as Array<{ id: string }>).map((f) => f.id).sort());
  await t.throwsAsync(nova.getFlavor('no-such-flavor'), { instanceOf: ComputeNotFoundError });
});

test('nova: a server from the Glance image goes ACTIVE on the management network, is found by instance id, and is deleted', async (t) => {
  const nova = new NovaServers(driverOptions(svc, 'compute'), [state.netId!]);
  const raw = await rawNova(svc);
  const instanceId = randomUUID();
  const spec = {
    instanceId,
    name: `cloud-${run}`,
    flavor: await nova.getFlavor(cloud.CLOUD_FLAVORS!.split(':')[0]!),
    imageId: state.imageId!,
    guestConfig: `[DEFAULT]\nguest_id = ${instanceId}\n`,
  };
  const created = await nova.createServer(spec);
  t.teardown(() => raw.delete(`/servers/${created.id}`).then(() => undefined));
  t.is(created.status, 'BUILD');
  t.is((await nova.createServer(spec)).id, created.id, 'a second create for the same instance finds the first server');

  let s: Server = created;
  for (let i = 0; i < 60 && s.status !== 'ACTIVE' && s.status !== 'ERROR'; i++) {
    await sleep(1000);
    s = await nova.getServer(created.id);
  }
  t.is(s.status, 'ACTIVE', s.fault);
  t.is(s.addresses.length, 1);
  t.is(s.addresses[0]!.network, cloud.CLOUD_NETWORK);
  t.is(s.addresses[0]!.type, 'private');
  t.regex(s.addresses[0]!.address, new RegExp(`^${cloud.CLOUD_NETWORK_CIDR!.split('.').slice(0, 3).join('\\.')}\\.`));
  t.is((await nova.findServerForInstance(instanceId))?.id, created.id);

  // what Nova holds: the image, the flavor, the instance id, the guest config in user_data
  const show = (await raw.get(`/servers/${created.id}`)).data.server;
  t.is(show.image.id, state.imageId);
  t.is(show.flavor.original_name, spec.flavor.name);
  t.is(show.metadata.trove_instance_id, instanceId);
  t.is(show.config_drive, 'True');
  const userData = Buffer.from(String(show['OS-EXT-SRV-ATTR:user_data']), 'base64').toString();
  t.true(userData.startsWith('#cloud-config\n'));
  t.true(userData.includes(`path: ${GUEST_CONFIG_PATH}`));
  t.true(userData.includes(`guest_id = ${instanceId}`));
  const listed = (await raw.get('/servers/detail')).data.servers.filter(
    (x: { metadata: Record<string, string> }) => x.metadata.trove_instance_id === instanceId,
  );
  t.is(listed.length, 1, 'exactly one server for the instance');

  await nova.deleteServer(created.id);
  let gone = false;
  for (let i = 0; i < 60 && !gone; i++) {
    gone = await nova.getServer(created.id).then(
      () => false,
      (err) => err instanceof ComputeNotFoundError,
    );
    if (!gone) await sleep(1000);
  }
  t.true(gone, 'the server is gone from Nova');
  t.is((await raw.get(`/servers/${created.id}`)).status, 404);
  t.is(await nova.findServerForInstance(instanceId), undefined);
  await nova.deleteServer(created.id); // already gone: fine
  await t.throwsAsync(nova.getServer(randomUUID()), { instanceOf: ComputeNotFoundError });
});

test('neutron: a security group with its rules, found again by name with its rules replaced, then deleted', async (t) => {
  const net = new NeutronNetwork(driverOptions(svc, 'network'));
  const raw = await rawClient(svc, 'network');
  const name = `SecGroup_cloud-${run}`;
  t.teardown(() => net.deleteSecurityGroup(name));
  const ingress = async (id: string) =>
    ((await raw.get(`/v2.0/security-group-rules?security_group_id=${id}`)).data.security_group_rules as Array<Record<string, unknown>>)
      .filter((r) => r.direction === 'ingress')
      .map((r) => `${r.protocol} ${r.port_range_min}-${r.port_range_max} ${r.remote_ip_prefix} ${r.ethertype}`)
      .sort();
  const id = await net.ensureSecurityGroup(name, [
    { protocol: 'tcp', port: 3306, cidr: '0.0.0.0/0' },
    { protocol: 'tcp', port: 3306, cidr: '10.0.0.0/8' },
  ]);
  const shown = (await raw.get(`/v2.0/security-groups/${id}`)).data.security_group;
  t.is(shown.name, name);
  t.is(shown.project_id, (await svc.info()).projectId);
  t.deepEqual(await ingress(id), ['tcp 3306-3306 0.0.0.0/0 IPv4', 'tcp 3306-3306 10.0.0.0/8 IPv4']);

  t.is(await net.ensureSecurityGroup(name, [{ protocol: 'tcp', port: 5432, cidr: '192.168.0.0/16' }]), id, 'the same group');
  t.deepEqual(await ingress(id), ['tcp 5432-5432 192.168.0.0/16 IPv4'], 'a resumed create sets the rules it was given');
  await net.replaceRules(id, [{ protocol: 'tcp', port: 6379, cidr: '0.0.0.0/0' }]);
  t.deepEqual(await ingress(id), ['tcp 6379-6379 0.0.0.0/0 IPv4']);
  t.is((await raw.get(`/v2.0/security-groups?name=${name}`)).data.security_groups.length, 1, 'no duplicate group');

  await net.deleteSecurityGroup(name);
  t.is((await raw.get(`/v2.0/security-groups/${id}`)).status, 404);
  await net.deleteSecurityGroup(name); // already gone: fine
  await net.deleteSecurityGroup(id);
});

test("cinder: the volume types of the user's catalog, as Cinder lists them", async (t) => {
  const demo = demoIdentity();
  const types = await new CinderBlockStorage(driverOptions(demo, 'volumev3')).listVolumeTypes();
  const raw = (await (await rawClient(demo, 'volumev3')).get('/types')).data.volume_types as Array<{ id: string; name: string }>;
  t.true(raw.length > 0);
  t.deepEqual(types.map((v) => [v.id, v.name]).sort(), raw.map((v) => [v.id, v.name]).sort());
  t.true(types.some((v) => v.name === '__DEFAULT__' && v.is_public));
});

// The management API on a real Koa server and MariaDB with the real policy: instances of every
// project (deleted ones too) with their server, volume, guest status and root history, an RPC ping
// through a recording guest, datastore versions and their parameter rules; a member gets 403 on
// every call, bad bodies get Trove's 4xx bodies, never a 500.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, RecordingTaskManager, type Harness } from '../helpers/api-harness.js';
import { Policy } from '../../src/api/policy/policy.js';
import type { Compute, Flavor } from '../../src/clients/compute.js';
import type { GuestApi } from '../../src/api/deps.js';
import type { CallOptions } from '../../src/rpc/contract.js';
import { RpcTimeoutError } from '../../src/rpc/errors.js';
import { ServiceStatuses } from '../../src/common/service-status.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { registerDatastore, type RegisteredVersion } from '../helpers/datastores.js';

const P = 'proj-mgmt';
const Q = 'proj-mgmt-other';
const MEMBER = { token: 'tok-mgmt-member', projectId: P, roles: ['member'], userId: 'u-member' };
const OTHER = { token: 'tok-mgmt-other', projectId: Q, roles: ['member'], userId: 'u-other' };
const ADMIN = { token: 'tok-mgmt-admin', projectId: 'proj-mgmt-admin', roles: ['admin'], userId: 'u-admin' };
const A = `/v1.0/${ADMIN.projectId}/mgmt`;
const M = `/v1.0/${P}/mgmt`;
const flavors: Flavor[] = [{ id: '1', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }];
const compute: Compute = { listFlavors: async () => flavors, getFlavor: async () => flavors[0]! };

const pings: Array<{ id: string; key: string | null; options?: CallOptions }> = [];
let pingFails = false;
const upgrades: Array<{ id: string; args: unknown; options?: CallOptions }> = [];
const guestOf = (id: string, key: string | null): GuestApi =>
  ({
    upgrade_agent: async (args: unknown, options?: CallOptions) => {
      upgrades.push({ id, args, options });
      return { version: '0.2.0' };
    },
    rpc_ping: async (_args: unknown, options?: CallOptions) => {
      if (pingFails) throw new RpcTimeoutError(`guestagent.${id}`, 'rpc_ping', 1000);
      pings.push({ id, key, options });
      return true;
    },
  }) as unknown as GuestApi;

let h: Harness;
let ds: RegisteredVersion;
let live: string;
let other: string;
let gone: string;

async function createInstance(token: string, project: string, name: string): Promise<string> {
  const r = await h.as(token).post(`/v1.0/${project}/instances`, { instance: { name, flavorRef: '1', volume: { size: 2 }, datastore: { type: 'mariadb' } } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.data));
  return r.data.instance.id as string;
}

test.before(async () => {
  h = await startApi({
    users: [MEMBER, OTHER, ADMIN],
    taskmanager: new RecordingTaskManager(),
    authorizer: Policy.load(),
    guest: guestOf,
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
  });
  ds = await registerDatastore(h.tdb.db);
  live = await createInstance(MEMBER.token, P, 'mgmt-live');
  other = await createInstance(OTHER.token, Q, 'mgmt-other');
  gone = await createInstance(MEMBER.token, P, 'mgmt-gone');
  await h.tdb
    .db('instances')
    .where({ id: live })
    .update({
      task_id: Tasks.NONE.code,
      task_description: Tasks.NONE.description,
      compute_instance_id: 'srv-live',
      server_status: 'ACTIVE',
      volume_id: 'vol-live',
      volume_used: 0.5,
      availability_zone: 'nova',
      addresses: JSON.stringify([{ address: '10.0.0.5', type: 'private', network: 'net' }]),
    });
  await h.tdb
    .db('service_statuses')
    .where({ instance_id: live })
    .update({ status_id: ServiceStatuses.HEALTHY.code, updated_at: new Date(), agent_version: '0.1.0', agent_rpc_version: '1.2' });
  await h.tdb
    .db('instances')
    .where({ id: gone })
    .update({ deleted: true, deleted_at: new Date('2026-01-02T03:04:05Z'), task_id: Tasks.NONE.code });
});
test.after.always(() => h?.close());

const admin = () => h.as(ADMIN.token);
const fault = (data: unknown) => Object.values(data as Record<string, { code: number; message: string }>)[0]!;

test('a member gets 403 forbidden on every management call', async (t) => {
  const calls: Array<[string, string, unknown?]> = [
    ['get', `${M}/instances`],
    ['get', `${M}/instances/${live}`],
    ['get', `${M}/instances/${live}/root`],
    ['get', `${M}/instances/${live}/rpc_ping`],
    ['get', `${M}/instances/${live}/diagnostics`],
    ['get', `${M}/instances/${live}/hwinfo`],
    ['post', `${M}/instances/${live}/upgrade`, { upgrade: {} }],
    ['get', `${M}/datastore-versions`],
    ['get', `${M}/datastore-versions/${ds.versionId}`],
    ['post', `${M}/datastore-versions`, { version: { name: 'x', datastore_name: 'y', datastore_manager: 'mysql', active: true, image_tags: ['t'] } }],
    ['patch', `${M}/datastore-versions/${ds.versionId}`, { active: false }],
    ['delete', `${M}/datastore-versions/${ds.versionId}`],
    ['get', `${M}/datastores/versions/${ds.versionId}/parameters`],
    ['get', `${M}/datastores/versions/${ds.versionId}/parameters/x`],
    ['post', `${M}/datastores/versions/${ds.versionId}/parameters`, { 'configuration-parameter': { name: 'x', restart_required: 0, data_type: 'string' } }],
    ['put', `${M}/datastores/versions/${ds.versionId}/parameters/x`, { 'configuration-parameter': { name: 'x', restart_required: 0, data_type: 'string' } }],
    ['delete', `${M}/datastores/versions/${ds.versionId}/parameters/x`],
  ];
  for (const [method, url, body] of calls) {
    const r = await h.as(MEMBER.token).request({ method, url, data: body });
    t.is(r.status, 403, `${method} ${url}`);
    t.regex(
      r.data.forbidden.message,
      /^Policy doesn't allow (instance:extension:mgmt|mgmt_datastore_version|mgmt_configuration_parameter):\w+ to be performed\.$/,
    );
  }
  t.truthy(await h.tdb.db('datastore_versions').where({ id: ds.versionId }).first(), 'nothing was deleted');
});

test('GET /mgmt/instances lists every project with the management fields; deleted, project_id, paging', async (t) => {
  const r = await admin().get(`${A}/instances`);
  t.is(r.status, 200, JSON.stringify(r.data));
  const byId = new Map<string, Record<string, unknown>>(r.data.instances.map((i: Record<string, unknown>) => [i.id, i]));
  t.deepEqual([...byId.keys()].sort(), [live, other, gone].sort(), 'no deleted= → live and deleted ones, as Trove');
  const l = byId.get(live)!;
  t.like(l, {
    name: 'mgmt-live',
    status: 'ACTIVE',
    operating_status: 'HEALTHY',
    tenant_id: P,
    deleted: false,
    deleted_at: null,
    service_status: 'HEALTHY',
    task_description: Tasks.NONE.description,
    server_id: 'srv-live',
    volume_id: 'vol-live',
  });
  t.deepEqual(l.server, { id: 'srv-live', name: 'mgmt-live', status: 'ACTIVE', tenant_id: P, host: null });
  t.deepEqual(l.datastore, { type: 'mariadb', version: '10.11', version_number: '10.11' });
  t.is(byId.get(other)!.server, null, 'no server yet');
  t.like(byId.get(other)!, { status: 'BUILD', tenant_id: Q, service_status: 'NEW' });
  t.like(byId.get(gone)!, { deleted: true, deleted_at: '2026-01-02T03:04:05', status: 'SHUTDOWN' });

  const liveOnly = await admin().get(`${A}/instances?deleted=False&include_clustered=False`);
  t.deepEqual(liveOnly.data.instances.map((i: { id: string }) => i.id).sort(), [live, other].sort());
  const deletedOnly = await admin().get(`${A}/instances?deleted=true`);
  t.deepEqual(
    deletedOnly.data.instances.map((i: { id: string }) => i.id),
    [gone],
  );
  const ofQ = await admin().get(`${A}/instances?project_id=${Q}&deleted=false`);
  t.deepEqual(
    ofQ.data.instances.map((i: { id: string }) => i.id),
    [other],
  );

  const page1 = await admin().get(`${A}/instances?limit=2`);
  t.is(page1.data.instances.length, 2);
  const next = new URL(page1.data.links[0].href);
  t.is(page1.data.links[0].rel, 'next');
  t.is(next.searchParams.get('marker'), page1.data.instances[1].id);
  const page2 = await admin().get(`${A}/instances?limit=2&marker=${next.searchParams.get('marker')}`);
  t.is(page2.data.instances.length, 1);
  t.is(page2.data.links, undefined);
  t.is((await admin().get(`${A}/instances?limit=0`)).status, 400);
});

test('GET /mgmt/instances/{id}: addresses, volume, guest_status, root history; deleted only with ?deleted=true', async (t) => {
  const r = await admin().get(`${A}/instances/${live}`);
  t.is(r.status, 200, JSON.stringify(r.data));
  const i = r.data.instance;
  t.deepEqual(i.server, {
    id: 'srv-live',
    name: 'mgmt-live',
    status: 'ACTIVE',
    tenant_id: P,
    host: null,
    addresses: [{ address: '10.0.0.5', type: 'private', network: 'net' }],
  });
  t.deepEqual(i.volume, {
    attachments: [{ server_id: 'srv-live', volume_id: 'vol-live' }],
    availability_zone: 'nova',
    created_at: null,
    id: 'vol-live',
    size: 2,
    status: null,
    used: 0.5,
    total: 2,
  });
  t.deepEqual(i.guest_status, { state_description: 'healthy' });
  t.false('root_enabled' in i);
  // the guest agent's version as its heartbeats report it: the admin's view only
  t.deepEqual(i.guest_agent, { version: '0.1.0', rpc_version: '1.2' });
  const listed = (await admin().get(`${A}/instances`)).data.instances.find((x: { id: string }) => x.id === live);
  t.deepEqual(listed.guest_agent, { version: '0.1.0', rpc_version: '1.2' });
  const own = await h.as(MEMBER.token).get(`/v1.0/${P}/instances/${live}`);
  t.is(own.status, 200);
  t.false('guest_agent' in own.data.instance);
  t.false(JSON.stringify(own.data).includes('rpc_version'));

  await h.tdb.db('root_enabled_history').insert({ id: live, user: 'u-member', created: new Date('2026-02-03T04:05:06Z') });
  const withRoot = (await admin().get(`${A}/instances/${live}`)).data.instance;
  t.is(withRoot.root_enabled, '2026-02-03T04:05:06');
  t.is(withRoot.root_enabled_by, 'u-member');

  const building = (await admin().get(`${A}/instances/${other}`)).data.instance;
  t.is(building.server, null);
  t.is(building.volume, null);
  t.deepEqual(building.guest_status, { state_description: 'new' });
  t.is(building.guest_agent, null);

  const hidden = await admin().get(`${A}/instances/${gone}`);
  t.is(hidden.status, 404);
  t.deepEqual(hidden.data, { itemNotFound: { code: 404, message: `Resource ${gone} cannot be found.` } });
  const shown = await admin().get(`${A}/instances/${gone}?deleted=true`);
  t.is(shown.status, 200);
  t.like(shown.data.instance, { id: gone, deleted: true, status: 'SHUTDOWN', deleted_at: '2026-01-02T03:04:05' });
  t.is((await admin().get(`${A}/instances/${randomUUID()}`)).status, 404);
});

test.serial('GET /mgmt/instances/{id}/root: Never/Nobody, then the date and user', async (t) => {
  const fresh = await admin().get(`${A}/instances/${other}/root`);
  t.is(fresh.status, 200);
  t.deepEqual(fresh.data, { root_history: { id: other, enabled: 'Never', user: 'Nobody' } });
  await h.tdb.db('root_enabled_history').insert({ id: other, user: 'u-other', created: new Date('2026-03-04T05:06:07Z') });
  t.deepEqual((await admin().get(`${A}/instances/${other}/root`)).data, { root_history: { id: other, enabled: '2026-03-04T05:06:07', user: 'u-other' } });
  t.is((await admin().get(`${A}/instances/${gone}/root`)).status, 404);
});

test.serial('GET /mgmt/instances/{id}/rpc_ping: 204 after the guest answered; a silent guest is 400', async (t) => {
  pings.length = 0;
  const r = await admin().get(`${A}/instances/${live}/rpc_ping`);
  t.is(r.status, 204);
  t.is(r.data, '');
  t.is(pings.length, 1);
  const row = await h.tdb.db('instances').where({ id: live }).first('encrypted_key');
  t.is(pings[0]!.id, live);
  t.is(pings[0]!.key, row.encrypted_key);
  t.is(pings[0]!.options?.timeoutMs, 15_000);
  pingFails = true;
  const silent = await admin().get(`${A}/instances/${live}/rpc_ping`);
  pingFails = false;
  t.is(silent.status, 400);
  t.regex(silent.data.badRequest.message, new RegExp(`guest agent of instance ${live} did not answer rpc_ping`));
});

test.serial(
  "POST /mgmt/instances/{id}/upgrade: the call's package to the guest; no package and no local agents is 400; bad bodies 400; no server 422",
  async (t) => {
    upgrades.length = 0;
    const sum = 'ab'.repeat(32);
    const r = await admin().post(`${A}/instances/${live}/upgrade`, {
      upgrade: { instance_version: '0.2.0', location: 'https://swift.example/v1/AUTH_x/agents/trove-guestagent-0.2.0.tar.gz', metadata: { checksum: sum } },
    });
    t.is(r.status, 202, JSON.stringify(r.data));
    t.deepEqual(upgrades, [
      { id: live, args: { location: 'https://swift.example/v1/AUTH_x/agents/trove-guestagent-0.2.0.tar.gz', checksum: sum }, options: { timeoutMs: 180_000 } },
    ]);
    // no package named, none configured, and not the all-in-one (no local agent processes)
    const none = await admin().post(`${A}/instances/${live}/upgrade`, { upgrade: {} });
    t.is(none.status, 400);
    t.regex(none.data.badRequest.message, /give upgrade\.location, or set \[DEFAULT\] guest_agent_package_location/);
    for (const body of [
      {},
      { upgrade: { location: 'ftp://x/y' } },
      { upgrade: { metadata: { checksum: 'md5:1' } } },
      { upgrade: {}, extra: 1 },
      { upgrade: { bogus: 1 } },
    ]) {
      const bad = await admin().post(`${A}/instances/${live}/upgrade`, body);
      t.is(bad.status, 400, JSON.stringify(body));
      t.truthy(bad.data.badRequest, JSON.stringify(bad.data));
    }
    const noServer = await admin().post(`${A}/instances/${other}/upgrade`, { upgrade: { location: 'https://x/y.tar.gz' } });
    t.is(noServer.status, 422);
    t.is((await admin().post(`${A}/instances/${randomUUID()}/upgrade`, { upgrade: {} })).status, 404);
    t.is(upgrades.length, 1);
  },
);

test('diagnostics and hwinfo answer Trove 501 notImplemented', async (t) => {
  for (const what of ['diagnostics', 'hwinfo']) {
    const r = await admin().get(`${A}/instances/${live}/${what}`);
    t.is(r.status, 501);
    t.is(r.data.notImplemented.code, 501);
    t.regex(r.data.notImplemented.message, new RegExp(what));
  }
});

test.serial('datastore versions: create (datastore made), list/show as Trove MV, duplicate and image refusals', async (t) => {
  const body = {
    version: {
      name: '8.0',
      datastore_name: 'mysql',
      datastore_manager: 'mysql',
      image_tags: ['trove', 'mysql'],
      packages: [],
      active: true,
      default: true,
      version: '8.0.39',
    },
  };
  const r = await admin().post(`${A}/datastore-versions`, body);
  t.is(r.status, 202, JSON.stringify(r.data));
  const mysql = await h.tdb.db('datastores').where({ name: 'mysql' }).first();
  t.truthy(mysql, 'the datastore was created');
  const list = await admin().get(`${A}/datastore-versions`);
  t.is(list.status, 200);
  const mv = list.data.versions.find((v: { datastore_name: string }) => v.datastore_name === 'mysql');
  t.deepEqual(mv, {
    id: mysql.default_version_id,
    name: '8.0',
    version: '8.0.39',
    datastore_id: mysql.id,
    datastore_name: 'mysql',
    datastore_manager: 'mysql',
    image: null,
    image_tags: ['trove', 'mysql'],
    packages: [''],
    active: true,
    registry_ext: null,
    repl_strategy: null,
    default: true,
  });
  const show = await admin().get(`${A}/datastore-versions/${mv.id}`);
  t.deepEqual(show.data, { version: mv });
  t.like(
    list.data.versions.find((v: { id: string }) => v.id === ds.versionId),
    { datastore_name: 'mariadb', default: true, image: 'local', image_tags: [''] },
  );

  const dup = await admin().post(`${A}/datastore-versions`, body);
  t.is(dup.status, 400);
  t.deepEqual(dup.data, { badRequest: { code: 400, message: "The datastore version '8.0(8.0.39)' already exists." } });
  const noImage = await admin().post(`${A}/datastore-versions`, { version: { ...body.version, name: '8.4', image_tags: [] } });
  t.deepEqual(noImage.data, { badRequest: { code: 400, message: 'Image must be specified.' } });
  const inactiveDefault = await admin().post(`${A}/datastore-versions`, { version: { ...body.version, name: '8.4', active: false } });
  t.is(inactiveDefault.status, 400);
  t.regex(inactiveDefault.data.badRequest.message, /not active/);
  t.is(await h.tdb.db('datastore_versions').where({ name: '8.4' }).first(), undefined, 'nothing stored by a refused create');

  const image = randomUUID();
  const second = await admin().post(`${A}/datastore-versions`, {
    version: { name: '5.7', datastore_name: 'mysql', datastore_manager: 'mysql', image, packages: ['a', 'b'], active: false },
  });
  t.is(second.status, 202);
  const v57 = (await admin().get(`${A}/datastore-versions`)).data.versions.find((v: { name: string }) => v.name === '5.7');
  t.like(v57, { image, image_tags: [''], packages: ['a', 'b'], active: false, default: false, version: '5.7' });
  t.is((await admin().get(`${A}/datastore-versions/${randomUUID()}`)).status, 400, "Trove's DatastoreVersionNotFound is a 400");
});

test('datastore version bodies Trove refuses are 400 validation errors, never 500', async (t) => {
  const v = { name: '9', datastore_name: 'mysql', datastore_manager: 'mysql', image_tags: ['t'], active: true };
  const cases: Array<[unknown, RegExp]> = [
    [{}, /Validation error: body 'version' is a required property/],
    [{ version: { ...v, active: undefined } }, /'active' is a required property/],
    [{ version: { ...v, active: 'yes' } }, /Validation error/],
    [{ version: { ...v, image: 'not-a-uuid' } }, /Validation error/],
    [{ version: { ...v, image_tags: ['a', 'b', 'c', 'd', 'e', 'f'] } }, /Validation error/],
    [{ version: { ...v, image_tags: ['a', 'a'] } }, /Validation error/],
    [{ version: { ...v, name: '---' } }, /Validation error/],
    [{ version: { ...v, extra: 1 } }, /Additional properties are not allowed/],
    [[], /Validation error/],
    ['nonsense', /./],
  ];
  for (const [body, message] of cases) {
    const r = await admin().post(`${A}/datastore-versions`, body);
    t.is(r.status, 400, JSON.stringify(body));
    t.regex(fault(r.data)?.message ?? JSON.stringify(r.data), message, JSON.stringify(body));
  }
  // 'null': a JSON null body is no body to edit with (it was taken as {} and answered 202)
  for (const body of [{ nope: 1 }, { active: 'x' }, { image: 'bad' }, [], { name: '' }, 'null', '7']) {
    const r = await admin().patch(`${A}/datastore-versions/${ds.versionId}`, body);
    t.is(r.status, 400, JSON.stringify(body));
  }
});

test.serial('PATCH a datastore version: rename, tags drop the image, disable, default and non-default', async (t) => {
  const image = randomUUID();
  await admin().post(`${A}/datastore-versions`, {
    version: { name: '16', datastore_name: 'postgresql', datastore_manager: 'postgresql', image, active: true },
  });
  const pg = await h.tdb.db('datastores').where({ name: 'postgresql' }).first();
  const id = (await h.tdb.db('datastore_versions').where({ datastore_id: pg.id }).first()).id as string;
  const show = async () => (await admin().get(`${A}/datastore-versions/${id}`)).data.version;

  t.is((await admin().patch(`${A}/datastore-versions/${id}`, {})).status, 202, 'an empty edit changes nothing');
  t.like(await show(), { name: '16', image, active: true, default: false });
  t.is((await admin().patch(`${A}/datastore-versions/${id}`, { name: '16.4', default: true, packages: ['p1'], datastore_manager: 'pg' })).status, 202);
  t.like(await show(), { name: '16.4', version: '16', default: true, packages: ['p1'], datastore_manager: 'pg', image });
  t.is((await admin().patch(`${A}/datastore-versions/${id}`, { image_tags: ['trove', 'pg'] })).status, 202);
  t.like(await show(), { image: '', image_tags: ['trove', 'pg'] });
  const inactiveDefault = await admin().patch(`${A}/datastore-versions/${id}`, { active: false, default: true });
  t.is(inactiveDefault.status, 400);
  t.is((await admin().patch(`${A}/datastore-versions/${id}`, { active: false, default: false })).status, 202);
  t.like(await show(), { active: false, default: false });
  t.is((await h.tdb.db('datastores').where({ id: pg.id }).first()).default_version_id, null);
  const noImage = await admin().patch(`${A}/datastore-versions/${id}`, { image_tags: [] });
  t.deepEqual(noImage.data, { badRequest: { code: 400, message: 'Image must be specified.' } });
  t.is((await admin().patch(`${A}/datastore-versions/${randomUUID()}`, { active: true })).status, 400);
});

test.serial('DELETE a datastore version: in use by an instance, a backup or a configuration → 400; unused → 202', async (t) => {
  const inUse = await admin().delete(`${A}/datastore-versions/${ds.versionId}`);
  t.is(inUse.status, 400);
  t.deepEqual(inUse.data, { badRequest: { code: 400, message: 'Datastore version is in use by instance.' } });

  await admin().post(`${A}/datastore-versions`, {
    version: { name: '7', datastore_name: 'redis', datastore_manager: 'redis', image_tags: ['r'], active: true, default: true },
  });
  const redis = await h.tdb.db('datastores').where({ name: 'redis' }).first();
  const id = redis.default_version_id as string;
  await h.tdb
    .db('configurations')
    .insert({ id: randomUUID(), name: 'c', tenant_id: P, datastore_version_id: id, deleted: false, created: new Date(), updated: new Date() });
  const byConfig = await admin().delete(`${A}/datastore-versions/${id}`);
  t.is(byConfig.data.badRequest.message, 'Datastore version is in use by configuration.');
  await h.tdb.db('configurations').where({ datastore_version_id: id }).delete();
  const backup = {
    id: randomUUID(),
    name: 'b',
    tenant_id: P,
    state: 'COMPLETED',
    datastore_version_id: id,
    deleted: false,
    created: new Date(),
    updated: new Date(),
  };
  await h.tdb.db('backups').insert(backup);
  t.is((await admin().delete(`${A}/datastore-versions/${id}`)).data.badRequest.message, 'Datastore version is in use by backup.');
  await h.tdb.db('backups').where({ id: backup.id }).update({ deleted: true, deleted_at: new Date() });
  const byDeleted = await admin().delete(`${A}/datastore-versions/${id}`);
  t.is(byDeleted.data.badRequest.message, 'Datastore version is still referenced by the records of a deleted backup.', "a 400, not the foreign key's 500");
  await h.tdb.db('backups').where({ id: backup.id }).delete();

  await admin().post(`${A}/datastores/versions/${id}/parameters`, {
    'configuration-parameter': { name: 'maxmemory', restart_required: 0, data_type: 'string' },
  });
  const gone = await admin().delete(`${A}/datastore-versions/${id}`);
  t.is(gone.status, 202, JSON.stringify(gone.data));
  t.is(await h.tdb.db('datastore_versions').where({ id }).first(), undefined);
  t.is((await h.tdb.db('datastores').where({ id: redis.id }).first()).default_version_id, null, 'no longer the default');
  t.is((await admin().get(`${A}/datastore-versions/${id}`)).status, 400);
  t.is((await admin().delete(`${A}/datastore-versions/${id}`)).status, 400);
});

test.serial('parameter rules: create, list, show, replace, delete; integer bounds; the public view keeps min/max', async (t) => {
  const base = `${A}/datastores/versions/${ds.versionId}/parameters`;
  const p = (over: Record<string, unknown>) => ({
    'configuration-parameter': { name: 'max_connections', restart_required: 0, data_type: 'integer', max_size: '1000', min_size: '1', ...over },
  });

  const noMin = await admin().post(base, p({ min_size: undefined }));
  t.deepEqual(noMin.data, { badRequest: { code: 400, message: 'min_size is required for integer data type.' } });
  const inverted = await admin().post(base, p({ max_size: '1', min_size: '5' }));
  t.is(inverted.data.badRequest.message, 'max_size must be greater than or equal to min_size.');
  t.is((await admin().post(base, p({ data_type: 'blob' }))).status, 400);
  t.is((await admin().post(base, p({ restart_required: 2 }))).status, 400);
  t.is((await admin().post(base, {})).status, 400);

  const created = await admin().post(base, p({}));
  t.is(created.status, 200, JSON.stringify(created.data));
  t.deepEqual(created.data, {
    name: 'max_connections',
    datastore_version_id: ds.versionId,
    restart_required: false,
    type: 'integer',
    max_size: 1000,
    min_size: 1,
  });
  const dup = await admin().post(base, p({}));
  t.is(dup.data.badRequest.message, `max_connections parameter already exists for datastore version ${ds.versionId}.`);
  t.is((await admin().post(base, { 'configuration-parameter': { name: 'sql_mode', restart_required: 1, data_type: 'string' } })).status, 200);

  const list = await admin().get(base);
  t.deepEqual(list.data, {
    'configuration-parameters': [
      { name: 'max_connections', datastore_version_id: ds.versionId, restart_required: false, type: 'integer', max_size: 1000, min_size: 1 },
      { name: 'sql_mode', datastore_version_id: ds.versionId, restart_required: true, type: 'string' },
    ],
  });
  const pub = await h.as(MEMBER.token).get(`/v1.0/${P}/datastores/versions/${ds.versionId}/parameters/max_connections`);
  t.deepEqual(pub.data, { name: 'max_connections', datastore_version_id: ds.versionId, restart_required: false, type: 'integer', max: 1000, min: 1 });

  const put = await admin().put(`${base}/max_connections`, p({ max_size: 5000, restart_required: 1 }));
  t.is(put.status, 200, JSON.stringify(put.data));
  t.like(put.data, { max_size: 5000, min_size: 1, restart_required: true });
  t.like((await admin().get(`${base}/max_connections`)).data, { max_size: 5000 });
  t.deepEqual((await admin().put(`${base}/nope`, p({}))).data, { itemNotFound: { code: 404, message: 'Resource nope cannot be found.' } });
  t.is((await admin().get(`${base}/nope`)).status, 404);

  const del = await admin().delete(`${base}/sql_mode`);
  t.is(del.status, 204);
  const again = await admin().delete(`${base}/sql_mode`);
  t.deepEqual(again.data, { badRequest: { code: 400, message: 'Parameter sql_mode does not exist in the database.' } });
  t.is((await admin().get(`${base}/sql_mode`)).status, 404);
  t.is(
    (await admin().post(base, { 'configuration-parameter': { name: 'sql_mode', restart_required: 0, data_type: 'string' } })).status,
    200,
    'a deleted rule can be added again',
  );
  t.is((await admin().get(`${A}/datastores/versions/${randomUUID()}/parameters`)).status, 400);
});

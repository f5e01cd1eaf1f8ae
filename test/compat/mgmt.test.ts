// The real `openstack` CLI (python-troveclient) on the management API through the lab Keystone:
// `database instance list --all-projects / --project-id` as the cloud admin (a member is refused),
// and `datastore version create / set / delete`, each checked by what the CLI prints afterwards.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { createThrowawayDb, type ThrowawayDb } from '../helpers/throwaway-db.js';
import { mergeConf, startApiProcess, type ApiProcess } from '../helpers/api-process.js';
import { ADMIN, DEMO, keystoneAdmin, keystoneConfig } from '../helpers/keystone-lab.js';
import { openstack, openstackJson } from '../helpers/openstack-cli.js';
import { registerDatastore } from '../helpers/datastores.js';
import { insertInstance } from '../../src/db/instances.js';

const REGION = 'trove-ts-test-mgmt';
let tdb: ThrowawayDb;
let api: ApiProcess;
let demoProject: string;
let adminProject: string;
const demoInstance = randomUUID();
const adminInstance = randomUUID();

test.before(async () => {
  tdb = await createThrowawayDb();
  const ks0 = keystoneConfig();
  api = await startApiProcess(
    mergeConf(
      { database: { connection: tdb.url } },
      {
        keystone_authtoken: { ...ks0.keystone_authtoken, region_name: REGION },
        service_credentials: { ...ks0.service_credentials, region_name: REGION },
      },
    ),
  );
  const ks = await keystoneAdmin();
  await ks.endpoint('database', 'trove-ts', `${api.url}/v1.0/$(tenant_id)s`, REGION);
  demoProject = (await ks.project(DEMO.project)).id;
  adminProject = (await ks.project(ADMIN.project)).id;
  // instances as the taskmanager leaves them (the list is answered from trove-ts's own records)
  const { versionId } = await registerDatastore(tdb.db);
  await tdb.db.transaction(async (trx) => {
    for (const [id, name, tenant] of [
      [demoInstance, 'mgmt-demo', demoProject],
      [adminInstance, 'mgmt-admin', adminProject],
    ] as const) {
      await insertInstance(trx, {
        id,
        name,
        flavor_id: '1',
        volume_size: 1,
        volume_type: null,
        tenant_id: tenant,
        datastore_version_id: versionId,
        configuration_id: null,
        slave_of_id: null,
        region_id: null,
        encrypted_key: null,
        availability_zone: null,
        locality: null,
        access: { is_public: false, allowed_cidrs: [] },
      });
    }
  });
  await tdb.db('instances').where({ id: demoInstance }).update({ compute_instance_id: 'srv-demo', server_status: 'ACTIVE' });
});

test.after.always(async () => {
  await api?.stop();
  await tdb?.drop();
});

test("openstack database instance list --all-projects / --project-id print every project's instances with Server ID and Tenant ID", async (t) => {
  const all = await openstackJson<Array<Record<string, unknown>>>(ADMIN, REGION, ['database', 'instance', 'list', '--all-projects']);
  const rows = new Map(all.map((r) => [r.ID, r]));
  t.deepEqual([...rows.keys()].sort(), [demoInstance, adminInstance].sort());
  t.like(rows.get(demoInstance)!, {
    Name: 'mgmt-demo',
    'Tenant ID': demoProject,
    'Server ID': 'srv-demo',
    Datastore: 'mariadb',
    'Datastore Version': '10.11',
    Size: 1,
  });
  t.like(rows.get(adminInstance)!, { Name: 'mgmt-admin', 'Tenant ID': adminProject, Status: 'BUILD', 'Server ID': null });

  const ofDemo = await openstackJson<Array<Record<string, unknown>>>(ADMIN, REGION, ['database', 'instance', 'list', '--project-id', demoProject]);
  t.deepEqual(
    ofDemo.map((r) => r.ID),
    [demoInstance],
  );

  const own = await openstackJson<Array<Record<string, unknown>>>(DEMO, REGION, ['database', 'instance', 'list']);
  t.deepEqual(
    own.map((r) => r.ID),
    [demoInstance],
    "the plain list stays the caller's project",
  );
  const denied = await openstack(DEMO, REGION, ['database', 'instance', 'list', '--all-projects']);
  t.not(denied.code, 0);
  t.regex(denied.stderr, /instance:extension:mgmt:index.*\(HTTP 403\)/);
});

test.serial('openstack datastore version create / set / delete', async (t) => {
  const create = await openstack(ADMIN, REGION, [
    'datastore',
    'version',
    'create',
    '8.0',
    'mysql',
    'mysql',
    '',
    '--image-tags',
    'trove,mysql',
    '--active',
    '--default',
    '--version-number',
    '8.0.39',
  ]);
  t.is(create.code, 0, create.stderr);
  const versions = await openstackJson<Array<{ ID: string; Name: string }>>(ADMIN, REGION, ['datastore', 'version', 'list', 'mysql']);
  t.deepEqual(
    versions.map((v) => v.Name),
    ['8.0'],
  );
  const id = versions[0]!.ID;
  const show = await openstackJson<Record<string, unknown>>(ADMIN, REGION, ['datastore', 'version', 'show', id]);
  t.like(show, { id, name: '8.0', version: '8.0.39', active: 1, image: '' });
  t.deepEqual(show.image_tags, ['trove', 'mysql']);
  const ds = await openstackJson<Record<string, unknown>>(ADMIN, REGION, ['datastore', 'show', 'mysql']);
  t.is(ds.default_version, '8.0', "--default made it the datastore's default (the CLI prints its name)");

  const dup = await openstack(ADMIN, REGION, [
    'datastore',
    'version',
    'create',
    '8.0',
    'mysql',
    'mysql',
    '',
    '--image-tags',
    'trove',
    '--version-number',
    '8.0.39',
  ]);
  t.not(dup.code, 0);
  t.regex(dup.stderr, /The datastore version '8\.0\(8\.0\.39\)' already exists\. \(HTTP 400\)/);
  const noImage = await openstack(ADMIN, REGION, ['datastore', 'version', 'create', '8.4', 'mysql', 'mysql', '']);
  t.not(noImage.code, 0);
  t.regex(noImage.stderr, /Image must be specified\. \(HTTP 400\)/);
  const byMember = await openstack(DEMO, REGION, ['datastore', 'version', 'create', '8.4', 'mysql', 'mysql', '', '--image-tags', 'x']);
  t.not(byMember.code, 0);
  t.regex(byMember.stderr, /HTTP 403/);

  const set = await openstack(ADMIN, REGION, [
    'datastore',
    'version',
    'set',
    id,
    '--version-name',
    '8.0-ga',
    '--image-tags',
    'trove,mysql8',
    '--disable',
    '--non-default',
  ]);
  t.is(set.code, 0, set.stderr);
  const after = await openstackJson<Record<string, unknown>>(ADMIN, REGION, ['datastore', 'version', 'show', id]);
  t.like(after, { name: '8.0-ga', version: '8.0.39', active: 0 });
  t.deepEqual(after.image_tags, ['trove', 'mysql8']);
  const memberList = await openstackJson<Array<{ Name: string }>>(DEMO, REGION, ['datastore', 'version', 'list', 'mysql']);
  t.deepEqual(memberList, [], 'a disabled version is hidden from members');
  t.is((await openstackJson<Record<string, unknown>>(ADMIN, REGION, ['datastore', 'show', 'mysql'])).default_version, undefined);

  const del = await openstack(ADMIN, REGION, ['datastore', 'version', 'delete', id]);
  t.is(del.code, 0, del.stderr);
  t.deepEqual(await openstackJson<unknown[]>(ADMIN, REGION, ['datastore', 'version', 'list', 'mysql']), []);
  const inUse = await openstack(ADMIN, REGION, ['datastore', 'version', 'delete', (await tdb.db('datastore_versions').where({ name: '10.11' }).first()).id]);
  t.not(inUse.code, 0);
  t.regex(inUse.stderr, /Datastore version is in use by instance\. \(HTTP 400\)/);
});

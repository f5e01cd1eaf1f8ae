// /instances/{id}/log on a real Koa server and database with a recording guest stub: what the API
// sends the guest (Trove's args, the caller's is_admin in the context, the caller's store only for
// publish and discard, never the token in the context), policy (a reader may list but not act),
// and Trove's refusals decided before any guest call (enable+disable 400, no object store 501).
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, RecordingTaskManager, type Harness } from '../helpers/api-harness.js';
import { Policy } from '../../src/api/policy/policy.js';
import { EndpointNotFoundError } from '../../src/clients/identity.js';
import type { Compute, Flavor } from '../../src/clients/compute.js';
import type { GuestApi } from '../../src/api/deps.js';
import type { CallOptions } from '../../src/rpc/contract.js';
import { ServiceStatuses } from '../../src/common/service-status.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { registerDatastore } from '../helpers/datastores.js';

const P = 'proj-logs';
const MEMBER = { token: 'tok-logs-member', projectId: P, roles: ['member'], userId: 'u-member' };
const READER = { token: 'tok-logs-reader', projectId: P, roles: ['reader'], userId: 'u-reader' };
const ADMIN = { token: 'tok-logs-admin', projectId: P, roles: ['admin'], userId: 'u-admin' };
const flavors: Flavor[] = [{ id: '1', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }];
const compute: Compute = { listFlavors: async () => flavors, getFlavor: async () => flavors[0]! };
const LOG = {
  name: 'general',
  type: 'USER',
  status: 'Enabled',
  published: 0,
  pending: 0,
  container: 'None',
  prefix: 'None',
  metafile: 'x/mariadb-general_metafile',
};

const calls: Array<{ verb: string; args: Record<string, unknown>; options?: CallOptions }> = [];
const guest = {
  guest_log_list: async (args: Record<string, unknown>, options?: CallOptions) => (calls.push({ verb: 'guest_log_list', args, options }), [LOG]),
  guest_log_action: async (args: Record<string, unknown>, options?: CallOptions) => (calls.push({ verb: 'guest_log_action', args, options }), LOG),
} as unknown as GuestApi;

let h: Harness;
let id: string;

test.before(async () => {
  h = await startApi({
    users: [MEMBER, READER, ADMIN],
    taskmanager: new RecordingTaskManager(),
    authorizer: Policy.load(),
    guest: () => guest,
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
  });
  await registerDatastore(h.tdb.db);
  const r = await h
    .as(MEMBER.token)
    .post(`/v1.0/${P}/instances`, { instance: { name: `i-${randomUUID().slice(0, 6)}`, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } } });
  id = r.data.instance.id;
  await h.tdb.db('instances').where({ id }).update({ task_id: Tasks.NONE.code });
  await h.tdb.db('service_statuses').where({ instance_id: id }).update({ status_id: ServiceStatuses.HEALTHY.code });
});
test.after.always(() => h?.close());

const url = () => `/v1.0/${P}/instances/${id}/log`;

test.serial('list: {logs} from guest_log_list, the context says who asks (is_admin) and carries no token', async (t) => {
  calls.length = 0;
  const r = await h.as(MEMBER.token).get(url());
  t.is(r.status, 200, JSON.stringify(r.data));
  t.deepEqual(r.data, { logs: [LOG] });
  t.like(calls[0]!.options?.context, { is_admin: false, tenant: P, user: 'u-member' });
  t.false(JSON.stringify(calls[0]!.options?.context).includes(MEMBER.token));
  await h.as(ADMIN.token).get(url());
  t.like(calls[1]!.options?.context, { is_admin: true });
});

test.serial('show (name only) and publish: Trove args; the store only for publish', async (t) => {
  calls.length = 0;
  t.is((await h.as(MEMBER.token).post(url(), { name: 'general' })).status, 200);
  t.like(calls[0]!.args, { log_name: 'general', enable: false, disable: false, publish: false, discard: false, storage: null });
  const pub = await h.as(MEMBER.token).post(url(), { name: 'general', publish: 1 });
  t.is(pub.status, 200);
  t.deepEqual(pub.data, { log: LOG });
  t.like(calls[1]!.args, { log_name: 'general', publish: true, storage: { driver: 'local' } });
});

test.serial('a reader may list and show, not act (admin_or_writer); enable+disable is 400 before the guest', async (t) => {
  calls.length = 0;
  t.is((await h.as(READER.token).get(url())).status, 200);
  t.is((await h.as(READER.token).post(url(), { name: 'general' })).status, 200);
  const act = await h.as(READER.token).post(url(), { name: 'general', enable: 1 });
  t.is(act.status, 403);
  const both = await h.as(MEMBER.token).post(url(), { name: 'general', enable: true, disable: 'true' });
  t.is(both.status, 400);
  t.is(both.data.badRequest.message, 'Cannot enable and disable log.');
  t.is(calls.length, 2);
  t.is((await h.as(MEMBER.token).post(url(), { name: 5 })).status, 400);
});

test.serial("no object store in the caller's catalog: publish is Trove's 501", async (t) => {
  const saved = h.deps.backupStorage;
  h.deps.backupStorage = async () => {
    throw new EndpointNotFoundError({ type: 'object-store' });
  };
  try {
    const r = await h.as(MEMBER.token).post(url(), { name: 'general', publish: 1 });
    t.is(r.status, 501);
    t.truthy(r.data.notImplemented);
  } finally {
    h.deps.backupStorage = saved;
  }
});

test.serial('an instance whose engine is not running: 422', async (t) => {
  await h.tdb.db('service_statuses').where({ instance_id: id }).update({ status_id: ServiceStatuses.SHUTDOWN.code });
  t.is((await h.as(MEMBER.token).get(url())).status, 422);
});

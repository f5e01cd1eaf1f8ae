// Policy as Trove's defaults, on a real Koa server and MariaDB (issue 12 item 5): reset_status is
// rule:admin (force_delete no way around it while a flow holds the instance), owner rules compare
// the caller with the RESOURCE's project, quota:show is the policy's, who is an administrator is
// the policy file's (context_is_admin), and a marker of another project is an unknown marker.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi, RecordingTaskManager, type Harness } from '../helpers/api-harness.js';
import { Policy } from '../../src/api/policy/policy.js';
import type { Authorizer } from '../../src/api/authorizer.js';
import type { Compute, Flavor } from '../../src/clients/compute.js';
import { registerDatastore } from '../helpers/datastores.js';

const P = 'proj-pol';
const Q = 'proj-pol-other';
const MEMBER = { token: 'tok-pol-member', projectId: P, roles: ['member'] };
const OTHER = { token: 'tok-pol-other', projectId: Q, roles: ['member'] };
const ADMIN = { token: 'tok-pol-admin', projectId: 'proj-pol-admin', roles: ['admin'] };
const CLOUD_ADMIN = { token: 'tok-pol-cloud', projectId: 'proj-pol-admin', roles: ['cloud_admin'] };
const flavors: Flavor[] = [{ id: '1', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }];
const compute: Compute = { listFlavors: async () => flavors, getFlavor: async () => flavors[0]! };

let policy: Policy = Policy.load();
const swappable: Authorizer = {
  authorize: (action, context, target) => policy.authorize(action, context, target),
  isAdmin: (creds) => policy.isAdmin(creds),
};
function withFile(rules: Record<string, string>): Policy {
  const dir = mkdtempSync(join(tmpdir(), 'policy-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(
    file,
    Object.entries(rules)
      .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
      .join('\n'),
  );
  return Policy.load(file);
}

let h: Harness;
const mine: string[] = [];
let theirs: string;

async function createInstance(token: string, project: string, name: string): Promise<string> {
  const r = await h.as(token).post(`/v1.0/${project}/instances`, { instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.data));
  return r.data.instance.id as string;
}

test.before(async () => {
  h = await startApi({
    users: [MEMBER, OTHER, ADMIN, CLOUD_ADMIN],
    taskmanager: new RecordingTaskManager(),
    authorizer: swappable,
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
  });
  await registerDatastore(h.tdb.db);
  for (let i = 0; i < 3; i++) mine.push(await createInstance(MEMBER.token, P, `pol-mine-${i}`));
  theirs = await createInstance(OTHER.token, Q, 'pol-theirs');
  await h.tdb.db('instances').update({ task_id: 1 }); // NONE: free for actions
  // theirs is between mine in the newest-first order, so a marker on it would cut the page
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  for (const [i, id] of mine.entries())
    await h.tdb
      .db('instances')
      .where({ id })
      .update({ created: at(i * 2) });
  await h.tdb
    .db('instances')
    .where({ id: theirs })
    .update({ created: at(1) });
});
test.after.always(() => h?.close());
test.afterEach.always(() => {
  policy = Policy.load();
});

test.serial('reset_status is rule:admin; force_delete does not clear a flow that holds the lease', async (t) => {
  const id = mine[0]!;
  const url = `/v1.0/${P}/instances/${id}/action`;
  t.is((await h.as(MEMBER.token).post(url, { reset_status: {} })).status, 403);
  await h.tdb
    .db('instances')
    .where({ id })
    .update({ flow_owner: 'tm-1', flow_state: 'resize', flow_lease_until: new Date(Date.now() + 600_000) });
  const r = await h.as(MEMBER.token).post(url, { reset_status: { force_delete: true } });
  t.is(r.status, 403, JSON.stringify(r.data));
  t.deepEqual(r.data, { forbidden: { code: 403, message: "Policy doesn't allow instance:reset_status to be performed." } });
  t.is((await h.tdb.db('instances').where({ id }).first('flow_owner')).flow_owner, 'tm-1', "the lease is still the flow's");
  // an instance no flow holds: the owner's force-delete path stays open (Trove's instance:force_delete)
  await h.tdb
    .db('instances')
    .where({ id })
    .update({ flow_lease_until: new Date(Date.now() - 1000) });
  t.is((await h.as(MEMBER.token).post(url, { reset_status: { force_delete: true } })).status, 202);
  const a = `/v1.0/${ADMIN.projectId}/instances/${id}/action`;
  t.is((await h.as(ADMIN.token).post(a, { reset_status: {} })).status, 202);
});

test.serial("owner rules are checked against the resource's project, not the caller's", async (t) => {
  policy = withFile({ 'instance:show': 'project_id:%(tenant)s', 'instance:delete': 'project_id:%(tenant)s' });
  const a = `/v1.0/${ADMIN.projectId}/instances/${theirs}`;
  const r = await h.as(ADMIN.token).get(a);
  t.is(r.status, 403, JSON.stringify(r.data));
  t.is((await h.as(ADMIN.token).delete(a)).status, 403);
  t.is((await h.as(OTHER.token).get(`/v1.0/${Q}/instances/${theirs}`)).status, 200);
});

test.serial("quota:show is the policy's rule", async (t) => {
  t.is((await h.as(MEMBER.token).get(`/v1.0/${P}/mgmt/quotas/${P}`)).status, 200);
  t.is((await h.as(MEMBER.token).get(`/v1.0/${P}/mgmt/quotas/${Q}`)).status, 403);
  policy = withFile({ 'quota:show': 'rule:admin' });
  const r = await h.as(MEMBER.token).get(`/v1.0/${P}/mgmt/quotas/${P}`);
  t.is(r.status, 403);
  t.deepEqual(r.data, { forbidden: { code: 403, message: "Policy doesn't allow quota:show to be performed." } });
});

test.serial('who is an administrator is decided by the policy file (context_is_admin)', async (t) => {
  policy = withFile({ context_is_admin: 'role:cloud_admin', admin: 'role:cloud_admin' });
  const other = (u: { token: string; projectId: string }) => h.as(u.token).get(`/v1.0/${u.projectId}/instances/${theirs}`);
  t.is((await other(ADMIN)).status, 404, 'role admin is no longer an administrator');
  const c = await other(CLOUD_ADMIN);
  t.is(c.status, 200, JSON.stringify(c.data));
  t.is(c.data.instance.tenant_id, Q);
  policy = Policy.load();
  t.is((await other(ADMIN)).status, 200, 'by default role:admin is');
});

test.serial('a marker of another project is an unknown marker: no page position, no existence', async (t) => {
  const list = (marker?: string) => h.as(MEMBER.token).get(`/v1.0/${P}/instances${marker ? `?marker=${marker}` : ''}`);
  const all = (await list()).data.instances.map((i: { id: string }) => i.id);
  t.is(all.length, 3);
  const foreign = await list(theirs);
  t.is(foreign.status, 200);
  t.deepEqual(
    foreign.data.instances.map((i: { id: string }) => i.id),
    all,
  );
  t.deepEqual(foreign.data, (await list('no-such-id')).data);
  const cfg = await h.as(MEMBER.token).get(`/v1.0/${P}/configurations?marker=${theirs}`);
  t.is(cfg.status, 200);
});

// Engine metrics from heartbeats to the API on a real Koa server and MariaDB, through the
// conductor's own handlers: the latest values and history at GET /ts/instances/{id}/metrics, the
// Prometheus gauges, alarm thresholds (PUT/GET .../alarms) that notify and warn without touching
// the status, and the refusals: another project's instance (404), thresholds out of range (400),
// malformed metrics in a heartbeat (dropped and logged once; the status still written).
import test from 'ava';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { startApi, RecordingTaskManager, type Harness } from '../helpers/api-harness.js';
import type { Compute, Flavor } from '../../src/clients/compute.js';
import { Policy } from '../../src/api/policy/policy.js';
import { conductorHandlers } from '../../src/conductor/manager.js';
import { EngineMetricsRecorder } from '../../src/conductor/engine-metrics.js';
import { InstanceGauges } from '../../src/common/metrics/instance-gauges.js';
import { instanceMetricsDefaults } from '../../src/common/metrics/config.js';
import { createLogger } from '../../src/common/log.js';

const P = 'proj-metrics';
const USER = { token: 'tok-metrics-member', projectId: P, roles: ['member'] };
const READER = { token: 'tok-metrics-reader', projectId: P, roles: ['reader'] };
const OTHER = { token: 'tok-metrics-other', projectId: 'proj-metrics-other', roles: ['member'] };
const flavors: Flavor[] = [{ id: '1', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }];
const compute: Compute = { listFlavors: async () => flavors, getFlavor: async () => flavors[0]! };
let h: Harness;
const logged: string[] = [];
const log = createLogger('test', { destination: new Writable({ write: (c, _e, cb) => (logged.push(String(c)), cb()) }) });
const registry = new Registry();
const notified: Array<[string, Record<string, unknown>]> = [];
let beat: (instanceId: string, payload: Record<string, unknown>) => Promise<void>;

test.before(async () => {
  h = await startApi({
    users: [USER, READER, OTHER],
    taskmanager: new RecordingTaskManager(),
    authorizer: Policy.load(),
    userClients: () => ({ compute, blockStorage: { listVolumeTypes: async () => [] } }),
    config: { max_accepted_volume_size: '10' },
  });
  const ds = randomUUID();
  const v = randomUUID();
  await h.tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: v });
  await h.tdb
    .db('datastore_versions')
    .insert({ id: v, datastore_id: ds, name: '10.11', version: '10.11.19', manager: 'mariadb', image_id: 'img', packages: '', active: true });
  const metrics = new EngineMetricsRecorder(h.tdb.db, log, {
    // every heartbeat's metrics stored: the history interval is a second, and each test's beats are a second apart
    config: instanceMetricsDefaults.parse({ metrics_history_interval: '1', metrics_history_length: '5' }),
    gauges: new InstanceGauges(registry),
    notifier: { notify: (e, p) => void notified.push([e, p]) },
  });
  const handlers = conductorHandlers(h.tdb.db, log, { metrics });
  let sent = 1000;
  beat = async (instanceId, payload) => {
    await handlers.heartbeat({ instance_id: instanceId, payload: payload as { service_status: string }, sent: sent++ }, {
      context: {},
      method: 'heartbeat',
    } as never);
    await new Promise((r) => setTimeout(r, 1100)); // the next beat is a sample of its own
  };
});
test.after.always(() => h?.close());

const api = (tok = USER.token) => h.as(tok);
const base = (inst: string, p = P) => `/v1.0/${p}/ts/instances/${inst}`;
const sample = (over: Record<string, unknown> = {}) => ({
  connections: 5,
  max_connections: 100,
  queries_per_second: 12.5,
  replication_lag_seconds: null,
  replication_lag_bytes: null,
  volume_used_gb: 0.2,
  volume_total_gb: 1,
  uptime_seconds: 60,
  figures: { innodb_buffer_pool_hit_rate: 0.99, innodb_row_lock_waits: 0 },
  ...over,
});

async function instance(): Promise<string> {
  const r = await api().post(`/v1.0/${P}/instances`, {
    instance: { name: `i-${randomUUID().slice(0, 6)}`, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb' } },
  });
  if (r.status !== 200) throw new Error(JSON.stringify(r.data));
  return r.data.instance.id as string;
}

test.serial('heartbeats with metrics: the latest values and the history at /ts/.../metrics, the gauges labelled by instance and project', async (t) => {
  const id = await instance();
  const empty = await api().get(`${base(id)}/metrics`);
  t.is(empty.status, 200);
  t.like(empty.data.metrics, { instance_id: id, latest: null, captured_at: null, history: [], warnings: [] });
  await beat(id, { service_status: 'healthy', metrics: sample() });
  await beat(id, { service_status: 'healthy', metrics: sample({ connections: 7, queries_per_second: 40 }) });
  const r = await api(READER.token).get(`${base(id)}/metrics`);
  t.is(r.status, 200, JSON.stringify(r.data));
  t.is(r.data.metrics.latest.connections, 7);
  t.is(r.data.metrics.latest.queries_per_second, 40);
  t.is(r.data.metrics.latest.figures.innodb_buffer_pool_hit_rate, 0.99);
  t.deepEqual(
    r.data.metrics.history.map((s: { connections: number }) => s.connections),
    [5, 7],
    'oldest first',
  );
  t.regex(r.data.metrics.captured_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  t.deepEqual(r.data.metrics.warnings, []);
  t.false('ts_warnings' in (await api().get(`/v1.0/${P}/instances/${id}`)).data.instance, 'no warnings: the show is as Trove shows it');
  const text = await registry.metrics();
  t.true(text.includes(`trove_instance_connections{instance_id="${id}",project_id="${P}"} 7`), text);
  t.true(text.includes(`trove_instance_engine_figure{instance_id="${id}",project_id="${P}",figure="innodb_buffer_pool_hit_rate"} 0.99`));
});

test.serial("another project's instance: 404 for metrics and alarms; a reader may not set alarms (403)", async (t) => {
  const id = await instance();
  for (const p of ['metrics', 'alarms']) {
    const r = await api(OTHER.token).get(`${base(id, OTHER.projectId)}/${p}`);
    t.is(r.status, 404, p);
    t.is(r.data.itemNotFound.code, 404);
  }
  const r = await api(OTHER.token).put(`${base(id, OTHER.projectId)}/alarms`, { alarms: { connections_percent: 50 } });
  t.is(r.status, 404);
  t.is((await api(READER.token).put(`${base(id)}/alarms`, { alarms: { connections_percent: 50 } })).status, 403);
});

test.serial('thresholds out of range, unknown keys and a max_volume_size not above the volume or past the largest accepted: 400 naming why', async (t) => {
  const id = await instance();
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ volume_used_percent: 150 }, /volume_used_percent/],
    [{ connections_percent: 0 }, /connections_percent/],
    [{ replication_lag_seconds: -1 }, /replication_lag_seconds/],
    [{ volume_used_percent: 'high' }, /volume_used_percent/],
    [{ max_volume_size: 1 }, /larger than the volume's size \(1 GB\)/],
    [{ max_volume_size: 11 }, /largest volume accepted \(10 GB\)/],
    [{ max_volume_size: 2.5 }, /max_volume_size/],
    [{ bogus: 1 }, /bogus/],
  ];
  for (const [alarms, why] of cases) {
    const r = await api().put(`${base(id)}/alarms`, { alarms });
    t.is(r.status, 400, JSON.stringify(alarms));
    t.is(r.data.badRequest.code, 400);
    t.regex(r.data.badRequest.message, why, JSON.stringify(alarms));
  }
  t.is((await api().put(`${base(id)}/alarms`, {})).status, 400);
  const after = await api().get(`${base(id)}/alarms`);
  t.like(after.data.alarms, { volume_used_percent: 85, connections_percent: 90, replication_lag_seconds: 300, max_volume_size: null }, 'nothing stored');
});

test.serial('a threshold passed: one notification, a warning in the metrics, the status unchanged; cleared, it notifies again next time', async (t) => {
  const id = await instance();
  const put = await api().put(`${base(id)}/alarms`, { alarms: { connections_percent: 50, max_volume_size: 3 } });
  t.is(put.status, 200, JSON.stringify(put.data));
  t.like(put.data.alarms, { connections_percent: 50, volume_used_percent: 85, max_volume_size: 3 });
  notified.length = 0;
  await beat(id, { service_status: 'healthy', metrics: sample({ connections: 80 }) });
  await beat(id, { service_status: 'healthy', metrics: sample({ connections: 81 }) });
  t.is(notified.length, 1, 'once while it stays passed');
  t.is(notified[0]![0], 'trove.instance.alarm');
  t.like(notified[0]![1], { instance_id: id, tenant_id: P, alarm: 'connections_percent', value: 80, threshold: 50 });
  const m = await api().get(`${base(id)}/metrics`);
  t.is(m.data.metrics.warnings.length, 1);
  t.like(m.data.metrics.warnings[0], { alarm: 'connections_percent', value: 81, threshold: 50 });
  t.regex(m.data.metrics.warnings[0].message, /81 of 100 connections/);
  const show = await api().get(`/v1.0/${P}/instances/${id}`);
  t.is(show.status, 200);
  t.is(show.data.instance.status, 'BUILD', 'the status is not the alarm');
  t.deepEqual(show.data.instance.ts_warnings, [m.data.metrics.warnings[0].message], 'the warning in instance show');
  // python-troveclient shows the extra field and the rest as before
  const env = { PATH: '/usr/bin:/bin', HOME: '/tmp', LC_ALL: 'C.UTF-8', OS_AUTH_TYPE: 'admin_token', OS_ENDPOINT: `${h.url}/v1.0/${P}`, OS_TOKEN: USER.token };
  const cli = JSON.parse(
    (await promisify(execFile)('/usr/bin/openstack', ['database', 'instance', 'show', id, '-f', 'json'], { env, timeout: 120_000 })).stdout,
  );
  t.is(cli.id, id);
  t.is(cli.status, 'BUILD');
  t.regex(JSON.stringify(cli.ts_warnings), /81 of 100 connections/);
  await beat(id, { service_status: 'healthy', metrics: sample({ connections: 10 }) });
  await beat(id, { service_status: 'healthy', metrics: sample({ connections: 90 }) });
  t.is(notified.length, 2, 'cleared, then passed again');
  // back to the default
  const reset = await api().put(`${base(id)}/alarms`, { alarms: { connections_percent: null, max_volume_size: null } });
  t.like(reset.data.alarms, { connections_percent: 90, max_volume_size: null });
});

test.serial('a heartbeat with malformed metrics: the metrics dropped and logged once, the status still written', async (t) => {
  const id = await instance();
  const rowsBefore = await h.tdb.db('instance_metrics').where({ instance_id: id }).count({ n: '*' });
  logged.length = 0;
  await beat(id, { service_status: 'shutdown', metrics: sample({ connections: 'many' }) });
  await beat(id, { service_status: 'blocked', metrics: { figures: { 'Bad Name': 1 } } });
  await beat(id, { service_status: 'healthy', metrics: 'not an object' });
  const status = await h.tdb.db('service_statuses').where({ instance_id: id }).first();
  t.is(status.status_description, 'healthy', 'every heartbeat applied');
  const rowsAfter = await h.tdb.db('instance_metrics').where({ instance_id: id }).count({ n: '*' });
  t.is(Number(rowsAfter[0]!.n), Number(rowsBefore[0]!.n), 'no metrics stored');
  const lines = logged.filter((l) => l.includes('heartbeat metrics malformed'));
  t.is(lines.length, 1, 'logged once for the instance');
  t.regex(lines[0]!, /connections/);
  // an old agent's heartbeat (no metrics) is fine, and good metrics are taken again
  await beat(id, { service_status: 'healthy' });
  await beat(id, { service_status: 'healthy', metrics: sample({ connections: 3 }) });
  t.is((await api().get(`${base(id)}/metrics`)).data.metrics.latest.connections, 3);
});

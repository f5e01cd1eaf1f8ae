// The Prometheus scrape over HTTP on a real control plane (MariaDB, RabbitMQ, the three services
// in this process, a guest agent running a real mariadbd): every metric moves as the work is done
// (API requests by route template, the provision and backup flows, heartbeats through the real
// conductor, a real backup's size and duration, a guest RPC call and an RPC timeout, a failing
// flow), and the scrape holds no secret.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import axios from 'axios';
import { ADMIN_TOKEN, startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { until } from '../helpers/guest-agents.js';
import { startMetricsServer, type MetricsServer } from '../../src/common/metrics/server.js';
import { createLogger } from '../../src/common/log.js';
import { transportFromConfig } from '../../src/rpc/config.js';
import { RpcClient, RpcTimeoutError } from '../../src/rpc/rpc.js';
import { FlowRunner } from '../../src/taskmanager/flow.js';

const quiet = createLogger('metrics-test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const USER_PASSWORD = 'Mx-pass-5';

let cp: ControlPlane;
let metrics: MetricsServer;
let instanceId: string;

test.before(async () => {
  cp = await startControlPlane();
  metrics = await startMetricsServer({ host: '127.0.0.1', port: 0, checks: cp.api.deps.health!.checks, log: quiet, portKey: 'api_port' });
  await registerDatastore(cp.tdb.db);
});
test.after.always(async () => {
  await metrics?.close();
  await cp?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** GET /metrics, parsed: every sample line. */
async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const r = await axios.get(`${metrics.url}/metrics`, { responseType: 'text' });
  const samples: Sample[] = [];
  for (const line of String(r.data).split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { text: String(r.data), samples };
}

/** The sum of the samples of `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

test.serial('an instance provisioned, its databases listed and a backup taken move the API, flow, heartbeat, RPC and backup metrics', async (t) => {
  const r = await cp.http.post('/instances', {
    instance: {
      name: 'scraped',
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb' },
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', password: USER_PASSWORD, databases: [{ name: 'shop' }] }],
    },
  });
  t.is(r.status, 200, JSON.stringify(r.data));
  instanceId = r.data.instance.id;
  const active = await waitForInstance(cp.http, instanceId, (i) => i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY');
  t.is(active?.status, 'ACTIVE');
  t.is((await cp.http.get(`/instances/${instanceId}/databases`)).status, 200);
  const b = await cp.http.post('/backups', { backup: { name: 'scraped-backup', instance: instanceId } });
  t.is(b.status, 202, JSON.stringify(b.data));
  let backup: Record<string, unknown> = {};
  await until(
    'the backup ends',
    async () => {
      backup = (await cp.http.get(`/backups/${b.data.backup.id}`)).data.backup;
      return backup.status === 'COMPLETED' || backup.status === 'FAILED';
    },
    180_000,
    500,
  );
  t.is(backup.status, 'COMPLETED', JSON.stringify(backup));
  // the backup flow notices the end on its next poll
  await until('the backup flow ends', async () => !(await cp.tdb.db('instances').where({ id: instanceId }).first('flow_state')).flow_state, 30_000);

  const { text, samples } = await scrape();
  // API: route templates, never a path with an id in it
  t.true(total(samples, 'trove_api_requests_total', { route: '/v1.0/:tenant_id/instances', method: 'POST', status: '200' }) >= 1);
  t.true(total(samples, 'trove_api_requests_total', { route: '/v1.0/:tenant_id/instances/:id', method: 'GET', status: '200' }) >= 1);
  t.true(total(samples, 'trove_api_request_duration_seconds_count', { route: '/v1.0/:tenant_id/backups', method: 'POST', status: '202' }) >= 1);
  t.true(
    total(samples, 'trove_api_request_duration_seconds_bucket', { route: '/v1.0/:tenant_id/instances/:id', method: 'GET', status: '200', le: '+Inf' }) >= 1,
  );
  const routes = new Set(samples.filter((s) => s.name === 'trove_api_requests_total').map((s) => s.labels.route!));
  t.false(
    [...routes].some((route) => route.includes(instanceId) || route.includes('p-local')),
    [...routes].join(' '),
  );
  // flows: started, each step timed, done
  t.true(total(samples, 'trove_flows_started_total', { flow: 'provision' }) >= 1);
  t.true(total(samples, 'trove_flows_started_total', { flow: 'backup' }) >= 1);
  t.true(total(samples, 'trove_flow_duration_seconds_count', { flow: 'provision', outcome: 'done' }) >= 1);
  t.true(total(samples, 'trove_flow_duration_seconds_sum', { flow: 'provision', outcome: 'done' }) > 0);
  t.true(total(samples, 'trove_flow_step_duration_seconds_count', { flow: 'backup', step: 'wait', outcome: 'done' }) >= 1);
  // heartbeats through the conductor, and this instance's last one a few seconds old (report_interval = 2)
  t.true(total(samples, 'trove_heartbeats_received_total') >= 1);
  t.true(total(samples, 'trove_heartbeats_received_total', { status: 'healthy' }) >= 1);
  const age = samples.find((s) => s.name === 'trove_instance_heartbeat_age_seconds' && s.labels.instance_id === instanceId);
  t.truthy(age, 'the age of the instance heartbeat is shown');
  t.true(age!.value >= 0 && age!.value < 30, `age ${age?.value}`);
  // the guest's engine figures, labelled by instance and project
  for (const m of ['connections', 'max_connections', 'queries_per_second', 'volume_used_gb', 'volume_total_gb', 'uptime_seconds']) {
    t.truthy(
      samples.find((s) => s.name === `trove_instance_${m}` && s.labels.instance_id === instanceId && s.labels.project_id === 'p-local'),
      `trove_instance_${m} of the instance`,
    );
  }
  t.true(total(samples, 'trove_instance_max_connections', { instance_id: instanceId }) > 0);
  t.truthy(
    samples.find((s) => s.name === 'trove_instance_engine_figure' && s.labels.instance_id === instanceId && s.labels.figure === 'innodb_buffer_pool_hit_rate'),
  );
  // the backup: its size (GB, as the API shows it) and how long it took
  t.is(total(samples, 'trove_backup_size_gigabytes_count'), 1);
  t.is(total(samples, 'trove_backup_size_gigabytes_sum'), backup.size as number);
  t.is(total(samples, 'trove_backup_duration_seconds_count', { outcome: 'completed' }), 1);
  t.true(total(samples, 'trove_backup_duration_seconds_sum', { outcome: 'completed' }) > 0);
  // a guest call: the topic without the instance id
  t.true(total(samples, 'trove_rpc_call_duration_seconds_count', { topic: 'guestagent', method: 'list_databases', outcome: 'ok' }) >= 1);
  t.false(samples.some((s) => s.name.startsWith('trove_rpc') && s.labels.topic?.includes(instanceId)));
  // process memory and event-loop lag (prom-client's defaults)
  t.true(total(samples, 'process_resident_memory_bytes') > 0);
  t.true(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'));
  // no secret in the scrape
  for (const secret of [ADMIN_TOKEN, USER_PASSWORD, 'guest:guest', cp.vhost.url]) t.false(text.includes(secret), `the scrape shows ${secret}`);
});

test.serial('an RPC call nobody answers counts as a timeout', async (t) => {
  const before = total((await scrape()).samples, 'trove_rpc_call_timeouts_total', { topic: 'guestagent', method: 'get_filesystem_stats' });
  const transport = transportFromConfig(cp.raw, quiet);
  const rpc = new RpcClient(transport, quiet, { timeoutMs: 500 });
  t.teardown(async () => {
    await rpc.close();
    await transport.close();
  });
  await t.throwsAsync(rpc.call(`guestagent.${randomUUID()}`, 'get_filesystem_stats', { fs_path: '/' }), { instanceOf: RpcTimeoutError });
  const { samples } = await scrape();
  t.is(total(samples, 'trove_rpc_call_timeouts_total', { topic: 'guestagent', method: 'get_filesystem_stats' }), before + 1);
  t.true(total(samples, 'trove_rpc_call_duration_seconds_count', { topic: 'guestagent', method: 'get_filesystem_stats', outcome: 'timeout' }) >= 1);
});

test.serial('a flow whose step fails counts as failed, by flow and step', async (t) => {
  const id = randomUUID();
  await cp.tdb.db('instances').insert({ id, name: 'failing', tenant_id: 'p-local', deleted: true, task_id: 5, created: new Date(), updated: new Date() });
  const runner = new FlowRunner({ db: cp.tdb.db, log: quiet, owner: 'metrics-test' });
  let failedIn = '';
  runner.register<Record<string, never>>({
    name: 'metrics-demo',
    steps: [
      { name: 'first', run: async () => undefined },
      {
        name: 'boom',
        run: async () => {
          throw new Error('the step failed');
        },
      },
    ],
    fail: async (_c, _e, step) => {
      failedIn = step;
    },
  });
  await runner.start('metrics-demo', id, {}, 60);
  t.is(failedIn, 'boom');
  const { samples } = await scrape();
  t.is(total(samples, 'trove_flows_started_total', { flow: 'metrics-demo' }), 1);
  t.is(total(samples, 'trove_flows_failed_total', { flow: 'metrics-demo', step: 'boom' }), 1);
  t.is(total(samples, 'trove_flow_duration_seconds_count', { flow: 'metrics-demo', outcome: 'failed' }), 1);
  t.is(total(samples, 'trove_flow_step_duration_seconds_count', { flow: 'metrics-demo', step: 'first', outcome: 'done' }), 1);
  t.is(total(samples, 'trove_flow_step_duration_seconds_count', { flow: 'metrics-demo', step: 'boom', outcome: 'failed' }), 1);
});

test.serial('the metrics port answers /healthcheck too', async (t) => {
  const r = await axios.get(`${metrics.url}/healthcheck`, { responseType: 'text', validateStatus: () => true });
  t.is(r.status, 200);
  t.is(r.data, 'OK\nOK');
});

// GET /healthcheck on real parts, with no token: trove-api answers 200 with its control database
// (MariaDB) and bus (RabbitMQ) up, 503 naming the bus when its transport cannot connect and the
// database when it cannot be reached (wrong ports), and never the passwords in those URLs; the
// trove-taskmanager and trove-conductor processes answer the same on their [metrics] ports, where
// /metrics is served too.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import axios from 'axios';
import { ADMIN_TOKEN, startControlPlane, type ControlPlane } from '../helpers/control-plane.js';
import { freePort, mergeConf, startApiProcess, writeConf } from '../helpers/api-process.js';
import { REPO } from '../helpers/run-bin.js';
import { killOnExit } from '../helpers/reap.js';
import { buildDeps, startApiServer, type ApiServer } from '../../src/api/server.js';
import { cloudDrivers } from '../../src/clients/factory.js';
import { createLogger } from '../../src/common/log.js';
import type { RawConfig } from '../../src/common/config/reader.js';

let cp: ControlPlane;
test.before(async () => {
  cp = await startControlPlane();
});
test.after.always(() => cp?.stop());

const quiet = createLogger('health-test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const BUS_PASSWORD = 'Bus-Sekrit-41';
const DB_PASSWORD = 'Db-Sekrit-73';

/** A trove-api in this process on the control plane's configuration with these sections changed. */
async function apiWith(change: (raw: RawConfig) => RawConfig): Promise<ApiServer> {
  const raw = change(structuredClone(cp.raw));
  return startApiServer(buildDeps(raw, cloudDrivers(raw, quiet).api(), { log: quiet }));
}

const get = (url: string, accept?: string) =>
  axios.get(`${url}/healthcheck`, { validateStatus: () => true, responseType: 'text', headers: accept ? { Accept: accept } : {} });

test('trove-api: 200 with MariaDB and RabbitMQ up, no token; HEAD 204; JSON reasons', async (t) => {
  const r = await get(cp.api.url);
  t.is(r.status, 200, r.data);
  t.regex(r.headers['content-type'] as string, /^text\/plain; charset=utf-8$/i);
  t.is(r.data, 'OK\nOK');
  const json = await get(cp.api.url, 'application/json');
  t.deepEqual(JSON.parse(json.data), { detailed: false, reasons: ['OK', 'OK'] });
  const head = await axios.head(`${cp.api.url}/healthcheck`, { validateStatus: () => true });
  t.is(head.status, 204);
  // the API's own routes still want a token
  t.is((await axios.get(`${cp.api.url}/v1.0/p-local/instances`, { validateStatus: () => true })).status, 401);
});

test('trove-api: 503 naming the bus when its transport cannot connect (a wrong port), the database still OK', async (t) => {
  const api = await apiWith((raw) => ({ ...raw, DEFAULT: { ...raw.DEFAULT, transport_url: `rabbit://guest:${BUS_PASSWORD}@127.0.0.1:1/` } }));
  t.teardown(() => api.close());
  const r = await get(api.url);
  t.is(r.status, 503, r.data);
  const [database, bus] = String(r.data).split('\n');
  t.is(database, 'OK');
  t.regex(
    bus!,
    /^bus unavailable: no answer within 5 s \(the transport is (connecting|disconnected); last connection attempt: \w+:\/\/guest:\*\*\*@127\.0\.0\.1:1\S*: connect ECONNREFUSED 127\.0\.0\.1:1\)$/,
  );
  const detailed = await apiWith((raw) => ({
    ...raw,
    DEFAULT: { ...raw.DEFAULT, transport_url: `rabbit://guest:${BUS_PASSWORD}@127.0.0.1:1/` },
    healthcheck: { detailed: 'true' },
  }));
  t.teardown(() => detailed.close());
  const j = await get(detailed.url, 'application/json');
  t.is(j.status, 503);
  const body = JSON.parse(j.data) as { detailed: boolean; reasons: Array<{ reason: string; details: string }> };
  t.true(body.detailed);
  t.regex(body.reasons[0]!.details, /^database: the control database answered in \d+ ms$/);
  t.regex(body.reasons[1]!.reason, /^bus unavailable/);
  t.false(j.data.includes(BUS_PASSWORD));
});

test('trove-api: 503 naming the database when it cannot be reached (a wrong port), the bus still OK; no password shown', async (t) => {
  const api = await apiWith((raw) => ({ ...raw, database: { connection: `mysql+pymysql://root:${DB_PASSWORD}@127.0.0.1:1/trove` } }));
  t.teardown(() => api.close());
  const r = await get(api.url, 'application/json');
  t.is(r.status, 503, r.data);
  const { reasons } = JSON.parse(r.data) as { reasons: string[] };
  t.regex(reasons[0]!, /^database unavailable: .*ECONNREFUSED/);
  t.is(reasons[1], 'OK');
  t.false(r.data.includes(DB_PASSWORD));
});

/** A service bin on the control plane's configuration with its metrics port on; resolves once /healthcheck answers. */
async function spawnService(bin: 'trove-taskmanager' | 'trove-conductor', portKey: string): Promise<{ url: string; child: ChildProcess; out: () => string }> {
  const port = await freePort();
  const conf = writeConf(
    mergeConf(cp.raw as Record<string, Record<string, string>>, { metrics: { enabled: 'true', bind_host: '127.0.0.1', [portKey]: String(port) } }),
  );
  const child = killOnExit(spawn(process.execPath, [`${REPO}bin/${bin}.js`, '--config-file', conf], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 120_000; ;) {
    if (child.exitCode !== null) throw new Error(`${bin} exited: ${out}`);
    if (
      await axios.get(`${url}/healthcheck`, { timeout: 6000, validateStatus: () => true }).then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`${bin} did not answer on ${url}: ${out}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return { url, child, out: () => out };
}

for (const [bin, portKey] of [
  ['trove-taskmanager', 'taskmanager_port'],
  ['trove-conductor', 'conductor_port'],
] as const) {
  test(`${bin}: its [metrics] ${portKey} answers /healthcheck (database and bus) and /metrics`, async (t) => {
    const s = await spawnService(bin, portKey);
    t.teardown(() => void s.child.kill('SIGKILL'));
    const r = await get(s.url, 'application/json');
    t.is(r.status, 200, r.data);
    t.deepEqual(JSON.parse(r.data), { detailed: false, reasons: ['OK', 'OK'] });
    const m = await axios.get(`${s.url}/metrics`, { responseType: 'text' });
    t.regex(m.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    t.regex(m.data, /^process_resident_memory_bytes \d+/m);
    t.regex(m.data, /^nodejs_eventloop_lag_seconds [\d.e-]+/m);
    t.regex(m.data, /^# TYPE trove_rpc_call_duration_seconds histogram/m);
    t.false(m.data.includes('guest:guest'), 'no bus credentials on the metrics port');
    t.is((await axios.get(`${s.url}/other`, { validateStatus: () => true })).status, 404);
  });
}

test('trove-api process: its [metrics] api_port serves /metrics (its requests by route template) and /healthcheck', async (t) => {
  const port = await freePort();
  const { bind_port: _port, ...defaults } = cp.raw.DEFAULT!;
  const api = await startApiProcess({
    ...(cp.raw as Record<string, Record<string, string>>),
    DEFAULT: defaults,
    metrics: { enabled: 'true', bind_host: '127.0.0.1', api_port: String(port) },
  });
  t.teardown(() => api.stop());
  t.is((await axios.get(`${api.url}/v1.0/p-local/flavors`, { headers: { 'X-Auth-Token': ADMIN_TOKEN } })).status, 200);
  const m = await axios.get(`http://127.0.0.1:${port}/metrics`, { responseType: 'text' });
  t.regex(m.data, /^trove_api_requests_total\{route="\/v1\.0\/:tenant_id\/flavors",method="GET",status="200"\} 1$/m);
  t.false(m.data.includes(ADMIN_TOKEN));
  const h = await get(`http://127.0.0.1:${port}`);
  t.is(h.status, 200, h.data);
  t.is(h.data, 'OK\nOK');
});

test('trove-api with two workers: the primary serves one metrics port, the requests of both workers counted together, and /healthcheck', async (t) => {
  const port = await freePort();
  const { bind_port: _port, ...defaults } = cp.raw.DEFAULT!;
  const api = await startApiProcess({
    ...(cp.raw as Record<string, Record<string, string>>),
    DEFAULT: { ...defaults, trove_api_workers: '2' },
    metrics: { enabled: 'true', bind_host: '127.0.0.1', api_port: String(port) },
  });
  t.teardown(() => api.stop());
  for (const deadline = Date.now() + 60_000; !api.output().includes('"trove-api workers started"');) {
    if (Date.now() > deadline) throw new Error(`the workers did not start: ${api.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // ten requests, each on a connection of its own: the primary hands them to both workers
  for (let i = 0; i < 10; i++) {
    const r = await axios.get(`${api.url}/v1.0/p-local/flavors`, { headers: { 'X-Auth-Token': ADMIN_TOKEN, Connection: 'close' } });
    t.is(r.status, 200);
  }
  const m = await axios.get(`http://127.0.0.1:${port}/metrics`, { responseType: 'text' });
  t.regex(m.data, /^trove_api_requests_total\{route="\/v1\.0\/:tenant_id\/flavors",method="GET",status="200"\} 10$/m);
  const h = await get(`http://127.0.0.1:${port}`);
  t.is(h.status, 200, h.data);
  t.is(h.data, 'OK\nOK');
});

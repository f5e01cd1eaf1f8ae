// The all-in-one (what `npm start` runs) serves its metrics on by default: one port for the whole
// process, its API port + 1000 on loopback, printed at start; its scrape holds the API's requests,
// the process's memory and event-loop lag, and no admin token; /healthcheck answers there and on
// the API port (SQLite and the in-process bus).
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { reapAio, startAio, type Aio } from '../helpers/all-in-one.js';

const top = mkdtempSync(path.join(tmpdir(), 'aio-metrics-'));
const state = path.join(top, 'state');
let aio: Aio | undefined;

const listenable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** A free port whose + 1000 is free too. */
async function portPair(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await listenable(port)) && (await listenable(port + 1000))) return port;
  }
}

test.after.always(async () => {
  await reapAio(aio, state);
  rmSync(top, { recursive: true, force: true });
});

test('the all-in-one serves /metrics and /healthcheck on its API port + 1000, /healthcheck on the API port too', async (t) => {
  const port = await portPair();
  aio = await startAio(state, port);
  const metricsUrl = `http://127.0.0.1:${port + 1000}`;
  t.true(aio.out().includes(`metrics: ${metricsUrl}/metrics`), aio.out());
  const token = readFileSync(path.join(state, 'admin-token'), 'utf8').trim();
  t.is((await axios.get(`${aio.url}/v1.0/admin/instances`, { headers: { 'X-Auth-Token': token } })).status, 200);
  const m = await axios.get(`${metricsUrl}/metrics`, { responseType: 'text' });
  t.regex(m.data, /^trove_api_requests_total\{route="\/v1\.0\/:tenant_id\/instances",method="GET",status="200"\} 1$/m);
  t.regex(m.data, /^process_resident_memory_bytes \d+/m);
  t.regex(m.data, /^nodejs_eventloop_lag_seconds /m);
  t.false(m.data.includes(token));
  for (const url of [metricsUrl, aio.url]) {
    const h = await axios.get(`${url}/healthcheck`, { responseType: 'text', validateStatus: () => true });
    t.is(h.status, 200, `${url}: ${h.data}`);
    t.is(h.data, 'OK\nOK');
  }
});

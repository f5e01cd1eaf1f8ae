// trove-api with [DEFAULT] trove_api_workers = 2: both workers answer (the primary hands connections
// round), each keeps its own per-user rate limits (as Trove's workers do), a worker killed is replaced,
// SIGTERM stops them all.
import test from 'ava';
import http from 'node:http';
import { createThrowawayDb } from '../helpers/throwaway-db.js';
import { startApiProcess } from '../helpers/api-process.js';

const TOKEN = 'tok-workers';

/** One GET on a connection of its own. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, headers: { 'X-Auth-Token': TOKEN } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pids of the processes that logged an access line for `path`. */
function servedBy(output: string, path: string): Set<number> {
  const pids = new Set<number>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { msg?: string; path?: string; pid?: number };
    if (r.msg === 'request' && r.path === path && r.pid) pids.add(r.pid);
  }
  return pids;
}

test('two workers share the port and the load, limit each user per worker, are replaced when killed and stop together on SIGTERM', async (t) => {
  const tdb = await createThrowawayDb();
  const api = await startApiProcess({
    DEFAULT: { admin_token: TOKEN, admin_project_id: 'p1', trove_api_workers: '2', http_get_rate: '3' },
    database: { connection: tdb.url },
  });
  t.teardown(async () => {
    await api.stop();
    await tdb.drop();
  });
  // the first worker answers first; the primary says when the other is listening too
  for (const deadline = Date.now() + 30_000; !api.output().includes('"trove-api workers started"');) {
    if (Date.now() > deadline) throw new Error(`the workers did not start: ${api.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const path = '/v1.0/p1/datastores';
  const statuses: number[] = [];
  let refusal = '';
  for (let i = 0; i < 10; i++) {
    const r = await get(`${api.url}${path}`);
    statuses.push(r.status);
    if (r.status === 413) refusal = r.body;
  }
  const ok = statuses.filter((s) => s === 200).length;
  // 3 GETs a minute per user in each of the 2 workers: more than one worker's 3, never more than 6
  t.true(ok > 3 && ok <= 6, `answered ${statuses.join(',')}`);
  t.deepEqual(statuses.slice(-2), [413, 413]);
  t.regex(refusal, /"overLimit".*Only 3 GET request\(s\) can be made to \* every minute/);
  t.true(statuses.every((s) => s === 200 || s === 413));

  // the access lines are written in the background (within 250 ms)
  await new Promise((r) => setTimeout(r, 1000));
  const workers = servedBy(api.output(), path);
  t.is(workers.size, 2, api.output());
  t.false(workers.has(api.pid), 'the primary serves no request itself');

  // a worker that dies is replaced, and the API keeps answering
  const [victim] = [...workers];
  process.kill(victim!, 'SIGKILL');
  const listening = () => (api.output().match(/"msg":"trove-api listening"/g) ?? []).length;
  for (const deadline = Date.now() + 30_000; listening() < 3;) {
    if (Date.now() > deadline) throw new Error(`no worker replaced the one killed: ${api.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  t.regex(api.output(), /"msg":"trove-api worker died; starting another"/);
  t.is((await get(`${api.url}/`)).status, 200);

  await api.stop();
  t.false(alive(api.pid));
  for (const pid of workers) t.false(alive(pid), `worker ${pid} stopped with the primary`);
  t.regex(api.output(), /"trove-api stopping its workers"/);
  t.is((api.output().match(/"msg":"trove-api stopping"/g) ?? []).length, 2, 'each worker closed its server');
});

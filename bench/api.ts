// API benchmark: sequential p50/p99 and 16-connection requests/s of GET /instances (a page),
// /instances/detail, /instances/{id} and /datastores.
//
//   node --import tsx bench/api.ts                      # trove-api as a process on N = 100, 1,000, 10,000 seeded instances
//   node --import tsx bench/api.ts --n 1000 --seconds 5  # other sizes, shorter loads
//   node --import tsx bench/api.ts --url http://host:8779/v1.0/<project> --token <token>   # any Trove v1 endpoint, seeds nothing
//   node --import tsx bench/api.ts --repo /tmp/old-checkout   # another checkout's trove-api and migrations (before/after)
//   node --import tsx bench/api.ts --workers 1          # trove-api's [DEFAULT] trove_api_workers (default: its own, one per CPU)
//
// Locally, each N gets a throwaway MariaDB database on the machine's server (127.0.0.1:3306 root,
// or TROVE_TEST_MYSQL_URL), seeded as test/helpers/seed-instances.ts says, and its own trove-api process
// (bin/trove-api.js) answering the admin token (no Keystone needed); its log goes to a file, as
// a deployment's would.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../test/helpers/run-bin.js';
import { createThrowawayDb } from '../test/helpers/throwaway-db.js';
import { syncSchema } from '../src/db/migrate.js';
import { seedInstances } from '../test/helpers/seed-instances.js';
import { get, measure, type Endpoint, type Figures, type Target } from './api-measure.js';
import { startApi } from './api-process.js';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    repo: { type: 'string' },
    token: { type: 'string' },
    n: { type: 'string', default: '100,1000,10000' },
    requests: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '300' },
    connections: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
    workers: { type: 'string' },
  },
});
const repo = args.repo ? `${path.resolve(args.repo)}/` : REPO;
const options = {
  requests: Number(args.requests),
  warmup: Number(args.warmup),
  connections: Number(args.connections),
  seconds: Number(args.seconds),
};

function endpoints(ids: string[]): Endpoint[] {
  let k = 0;
  const list: Endpoint[] = [
    { name: 'list', path: () => '/instances' },
    { name: 'detail', path: () => '/instances/detail' },
  ];
  if (ids.length) list.push({ name: 'show', path: () => `/instances/${ids[k++ % ids.length]}` });
  list.push({ name: 'datastores', path: () => '/datastores' });
  return list;
}

interface Row {
  n: string;
  endpoint: string;
  figures: Figures;
}

async function run(target: Target, n: string, ids: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const e of endpoints(ids)) {
    const figures = await measure(target, e, options);
    rows.push({ n, endpoint: e.name, figures });
    console.error(`  N=${n} ${e.name}: p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, ${Math.round(figures.rps)} req/s`);
  }
  return rows;
}

function table(rows: Row[], note: string): string {
  const lines = [
    note,
    '',
    `| N | endpoint | p50 ms | p99 ms | req/s (${options.connections} connections) |`,
    '|--:|---|--:|--:|--:|',
    ...rows.map(
      (r) =>
        `| ${r.n === 'remote' ? r.n : Number(r.n).toLocaleString('en-US')} | ${r.endpoint} | ${r.figures.p50.toFixed(2)} | ${r.figures.p99.toFixed(2)} | ${Math.round(r.figures.rps).toLocaleString('en-US')} |`,
    ),
  ];
  return lines.join('\n');
}

const how = `sequential: ${options.requests} requests after ${options.warmup} warm-up; load: autocannon, ${options.connections} connections, ${options.seconds} s`;
if (args.url) {
  if (!args.token) throw new Error('--url needs --token');
  const target = { base: args.url.replace(/\/+$/, ''), token: args.token };
  const first = JSON.parse(await get(target, '/instances')) as { instances: Array<{ id: string }> };
  const rows = await run(
    target,
    'remote',
    first.instances.map((i) => i.id),
  );
  console.log(table(rows, `${args.url} (${first.instances.length} instances on its first page); ${how}`));
} else {
  const rows: Row[] = [];
  const notes: string[] = [];
  const projectId = 'bench';
  for (const n of args.n.split(',').map(Number)) {
    const tdb = await createThrowawayDb({ migrate: false });
    try {
      await syncSchema(tdb.db, path.join(repo, 'migrations'));
      const t0 = performance.now();
      const { ids } = await seedInstances(tdb.db, projectId, n);
      console.error(`N=${n}: seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const api = await startApi(repo, tdb.url, projectId, args.workers ? { workers: args.workers } : {});
      try {
        rows.push(...(await run(api.target, String(n), ids)));
        notes.push(`N=${n}: trove-api answered ${api.startMs.toFixed(0)} ms after its start; RSS ${api.rssMb().toFixed(0)} MB after the run`);
      } finally {
        await api.stop();
      }
    } finally {
      await tdb.drop();
    }
  }
  console.log(table(rows, `trove-api (${repo}bin/trove-api.js, workers: ${args.workers ?? 'its default'}) on MariaDB 127.0.0.1:3306, page of 20; ${how}`));
  console.log(notes.join('\n'));
}

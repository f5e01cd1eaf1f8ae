// A/B API benchmark for a loaded machine: one database seeded once, then trove-api from this
// checkout and from another (`--repo`) measured in turn, round after round, on the same rows, so
// that both see the same minutes of the machine's load. Prints each round and the medians.
//
//   node --import tsx bench/api-ab.ts --repo /tmp/old-checkout            # N = 10,000, 5 rounds
//   node --import tsx bench/api-ab.ts --repo /tmp/old --n 1000 --rounds 3 --seconds 5
//   node --import tsx bench/api-ab.ts --repo /tmp/old --cpu-prof /tmp/prof   # a .cpuprofile per trove-api run
//
// The schema is migrated with this checkout's migrations (they are a superset of an older
// checkout's: added indexes and columns, which the older code does not read).
import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadavg } from 'node:os';
import { REPO } from '../test/helpers/run-bin.js';
import { createThrowawayDb } from '../test/helpers/throwaway-db.js';
import { syncSchema } from '../src/db/migrate.js';
import { seedInstances } from '../test/helpers/seed-instances.js';
import { measure, type Endpoint, type Figures } from './api-measure.js';
import { startApi } from './api-process.js';

const { values: args } = parseArgs({
  options: {
    repo: { type: 'string' },
    n: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '300' },
    connections: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '5' },
    workers: { type: 'string', default: '1' },
    endpoints: { type: 'string', default: 'list,show' },
    'cpu-prof': { type: 'string' },
  },
});
if (!args.repo) throw new Error('--repo <the other checkout> is required');
const repos = { A: `${path.resolve(args.repo)}/`, B: REPO };
const options = { requests: Number(args.requests), warmup: Number(args.warmup), connections: Number(args.connections), seconds: Number(args.seconds) };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const projectId = 'bench';
const tdb = await createThrowawayDb({ migrate: false });
try {
  await syncSchema(tdb.db, path.join(REPO, 'migrations'));
  const { ids } = await seedInstances(tdb.db, projectId, Number(args.n));
  let k = 0;
  const all: Endpoint[] = [
    { name: 'list', path: () => '/instances' },
    { name: 'detail', path: () => '/instances/detail' },
    { name: 'show', path: () => `/instances/${ids[k++ % ids.length]}` },
    { name: 'datastores', path: () => '/datastores' },
  ];
  const wanted = args.endpoints.split(',');
  const endpoints = all.filter((e) => wanted.includes(e.name));
  type Measured = Figures & { cpuUs: number };
  const results: Record<string, Record<string, Measured[]>> = { A: {}, B: {} };
  for (let round = 1; round <= Number(args.rounds); round++) {
    // alternate which goes first, so neither always has the warmer minute
    for (const side of round % 2 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const api = await startApi(repos[side], tdb.url, projectId, {
        workers: args.workers,
        ...(args['cpu-prof'] ? { cpuProfDir: path.join(args['cpu-prof'], `${side}${round}`) } : {}),
      });
      try {
        for (const e of endpoints) {
          const cpu0 = api.cpuMs();
          const measured = await measure(api.target, e, options);
          const f = { ...measured, cpuUs: ((api.cpuMs() - cpu0) * 1000) / measured.total };
          (results[side]![e.name] ??= []).push(f);
          console.log(
            `round ${round} ${side} ${e.name}: p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, ${Math.round(f.rps)} req/s, ` +
              `trove-api CPU ${Math.round(f.cpuUs)} µs/request (load average ${loadavg()[0]!.toFixed(1)})`,
          );
        }
      } finally {
        await api.stop();
      }
    }
  }
  console.log(`\nmedians over ${args.rounds} rounds, N = ${args.n}, workers ${args.workers}; A = ${repos.A}, B = ${repos.B}`);
  console.log('| endpoint | p50 ms (A, B) | p99 ms (A, B) | req/s (A, B) | trove-api CPU µs/request (A, B) |');
  console.log('|---|--:|--:|--:|--:|');
  for (const e of endpoints) {
    const a = results.A![e.name]!;
    const b = results.B![e.name]!;
    const m = (xs: Measured[], key: keyof Measured) => median(xs.map((x) => x[key]));
    console.log(
      `| ${e.name} | ${m(a, 'p50').toFixed(2)}, ${m(b, 'p50').toFixed(2)} | ${m(a, 'p99').toFixed(2)}, ${m(b, 'p99').toFixed(2)} | ${Math.round(m(a, 'rps'))}, ${Math.round(m(b, 'rps'))} | ${Math.round(m(a, 'cpuUs'))}, ${Math.round(m(b, 'cpuUs'))} |`,
    );
  }
} finally {
  await tdb.drop();
}

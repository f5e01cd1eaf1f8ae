// trove-ts benchmarks (npm run bench): prints
//  1. the control plane's own time from POST /instances to ACTIVE, excluding the engine's start
//     (total minus the guest's prepare time, which it logs), over real RabbitMQ + MariaDB with the
//     local compute driver and a real mariadbd;
//  2. trove-conductor's heartbeat throughput over AMQP into MariaDB.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { startControlPlane, waitForInstance } from '../test/helpers/control-plane.js';
import { createLogger } from '../src/common/log.js';
import { createTransport, messagingDefaults } from '../src/rpc/config.js';
import { configSection } from '../src/common/config/schema.js';
import { RpcClient } from '../src/rpc/rpc.js';
import { CONDUCTOR_TOPIC, conductorContract } from '../src/rpc/contracts/conductor.js';

const quiet = createLogger('bench', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const N = Number(process.env.BENCH_INSTANCES ?? 3);
const HEARTBEATS = Number(process.env.BENCH_HEARTBEATS ?? 3000);
/** A MariaDB guest's heartbeat metrics (guestagent/engines/mysql-common/metrics.ts). */
const METRICS = {
  connections: 12,
  max_connections: 151,
  queries_per_second: 250.5,
  replication_lag_seconds: null,
  replication_lag_bytes: null,
  volume_used_gb: 0.42,
  volume_total_gb: 5,
  uptime_seconds: 86_400,
  figures: { innodb_buffer_pool_hit_rate: 0.998, innodb_row_lock_waits: 3, innodb_row_lock_time_ms: 12, threads_running: 2, slow_queries: 0 },
};
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0]!.toFixed(0)} ms, median ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms, max ${s[s.length - 1]!.toFixed(0)} ms`;
};

const cp = await startControlPlane({ config: { DEFAULT: { report_interval: '30', server_sync_interval: '30' } } });
try {
  const ds = randomUUID();
  const v = randomUUID();
  await cp.tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: v });
  await cp.tdb
    .db('datastore_versions')
    .insert({ id: v, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', image_id: 'local', packages: '', active: true });

  const totals: number[] = [];
  const engine: number[] = [];
  const control: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const r = await cp.http.post('/instances', {
      instance: { name: `bench${i}`, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb', version: '10.11' } },
    });
    const id = r.data.instance.id as string;
    await waitForInstance(cp.http, id, (x) => x?.status === 'ACTIVE' && x?.operating_status === 'HEALTHY', 120_000);
    const total = performance.now() - t0;
    const log = readFileSync(path.join(cp.stateDir, 'servers', id, 'agent.log'), 'utf8');
    const prepare = Number(/"prepare_ms":(\d+)/.exec(log)?.[1] ?? NaN);
    totals.push(total);
    engine.push(prepare);
    control.push(total - prepare);
    await cp.http.delete(`/instances/${id}`);
    await waitForInstance(cp.http, id, (_x, s) => s === 404, 120_000);
  }
  console.log(`create → ACTIVE (${N} MariaDB instances, local compute, real RabbitMQ + MariaDB)`);
  console.log(`  total POST → ACTIVE+HEALTHY : ${stats(totals)}`);
  console.log(`  engine start (guest prepare): ${stats(engine)}`);
  console.log(`  control plane's own time    : ${stats(control)}`);

  // heartbeats: many guests' worth of casts straight at the conductor, each with the engine metrics a guest sends
  const instances = Array.from({ length: 50 }, () => randomUUID());
  for (const id of instances)
    await cp.tdb.db('service_statuses').insert({ id: randomUUID(), instance_id: id, status_id: 0x11, status_description: 'new', updated_at: new Date(0) });
  const transport = createTransport(configSection(cp.raw, 'DEFAULT', messagingDefaults), quiet);
  const client = new RpcClient(transport, quiet);
  const conductor = client.stub(conductorContract, CONDUCTOR_TOPIC);
  const t0 = performance.now();
  const per = Math.ceil(HEARTBEATS / instances.length);
  const sends: Promise<void>[] = [];
  for (let k = 1; k <= per; k++)
    for (const id of instances) sends.push(conductor.heartbeat({ instance_id: id, payload: { service_status: 'healthy', metrics: METRICS }, sent: k }));
  await Promise.all(sends);
  for (;;) {
    const row = await cp.tdb.db('conductor_lastseen').where({ method_name: 'heartbeat', sent: per }).count({ n: '*' }).first();
    if (Number(row?.n) >= instances.length) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `conductor heartbeats: ${per * instances.length} in ${secs.toFixed(2)} s = ${Math.round((per * instances.length) / secs)} heartbeats/s (one conductor, AMQP → MariaDB)`,
  );
  await client.close();
  await transport.close();
} finally {
  await cp.stop();
}

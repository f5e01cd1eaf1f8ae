// All-in-one create → connectable: start `trove-api --all-in-one` in a temp state directory,
// POST an instance, and time until a real mysql connection with the created user succeeds.
// Goal: < 15 s for MariaDB.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import axios from 'axios';
import mysql from 'mysql2/promise';
import { freePort } from '../test/helpers/api-process.js';
import { REPO } from '../test/helpers/run-bin.js';

const RUNS = Number(process.env.BENCH_AIO_RUNS ?? 3);
const state = mkdtempSync(path.join(tmpdir(), 'aio-bench-'));
chmodSync(state, 0o755);
const port = await freePort();
const child = spawn(process.execPath, [`${REPO}bin/trove-api.js`, '--all-in-one', '--state-dir', state, '--port', String(port)], {
  cwd: REPO,
  stdio: 'ignore',
});
const url = `http://127.0.0.1:${port}`;
try {
  const bootT0 = performance.now();
  while (
    !(await axios.get(url, { timeout: 500 }).then(
      () => true,
      () => false,
    ))
  )
    await new Promise((r) => setTimeout(r, 100));
  console.log(`all-in-one start → API answering: ${(performance.now() - bootT0).toFixed(0)} ms`);
  const http = axios.create({
    baseURL: `${url}/v1.0/admin`,
    headers: { 'X-Auth-Token': readFileSync(path.join(state, 'admin-token'), 'utf8').trim() },
    validateStatus: () => true,
  });
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = await http.post('/instances', {
      instance: {
        name: `b${i}`,
        flavorRef: '2',
        volume: { size: 1 },
        datastore: { type: 'mariadb' },
        databases: [{ name: 'd' }],
        users: [{ name: 'u', password: 'Bench-pw-1', databases: [{ name: 'd' }] }],
      },
    });
    if (r.status !== 200) throw new Error(JSON.stringify(r.data));
    const id = r.data.instance.id as string;
    let ip: string | undefined;
    for (;;) {
      if (!ip) ip = (await http.get(`/instances/${id}`)).data.instance.ip?.[0];
      if (ip) {
        const attempt = mysql.createConnection({ host: ip, user: 'u', password: 'Bench-pw-1', database: 'd', connectTimeout: 500 }).then(
          async (c) => (c.destroy(), true),
          () => false,
        );
        const ok = await Promise.race([attempt, new Promise<boolean>((r2) => setTimeout(() => r2(false), 1000))]);
        if (ok) break;
      }
      if (performance.now() - t0 > 60_000) throw new Error(`not connectable after 60 s: ${JSON.stringify((await http.get(`/instances/${id}`)).data)}`);
      await new Promise((r2) => setTimeout(r2, 100));
    }
    times.push(performance.now() - t0);
    console.log(`  run ${i + 1}: connectable after ${times[i]!.toFixed(0)} ms`);
    // the build flow finishes just after the database is reachable: delete once it is ACTIVE
    while ((await http.get(`/instances/${id}`)).data.instance?.status !== 'ACTIVE') await new Promise((r2) => setTimeout(r2, 100));
    const d0 = performance.now();
    const del = await http.delete(`/instances/${id}`);
    if (del.status !== 202) throw new Error(`delete: ${JSON.stringify(del.data)}`);
    while ((await http.get(`/instances/${id}`)).status !== 404) await new Promise((r2) => setTimeout(r2, 200));
    console.log(`  run ${i + 1}: deleted after ${(performance.now() - d0).toFixed(0)} ms`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `all-in-one create → connectable (MariaDB, ${RUNS} runs): min ${sorted[0]!.toFixed(0)} ms, median ${sorted[Math.floor(RUNS / 2)]!.toFixed(0)} ms, max ${sorted[RUNS - 1]!.toFixed(0)} ms (goal < 15000 ms)`,
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(state, { recursive: true, force: true });
}

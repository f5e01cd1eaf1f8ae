// trove-wait: waits for an instance to be ready (ACTIVE and HEALTHY), printing a progress line as
// it builds, restarts or resizes. Talks to the API like the openstack CLI with a token:
// OS_ENDPOINT (…/v1.0/<project>) and OS_TOKEN, or --endpoint/--token.
// Exit codes: 0 ready, 1 ERROR, 2 bad arguments or unknown instance, 3 timed out.
import { Command, CommanderError } from 'commander';
import axios, { type AxiosInstance } from 'axios';
import { outcome, progressLine, type InstanceView } from './progress.js';

const program = new Command('trove-wait')
  .description('wait for a trove-ts instance to be ACTIVE and HEALTHY, showing its progress')
  .argument('<instance>', 'instance id or name')
  .option('--endpoint <url>', 'the database endpoint, …/v1.0/<project> (default: $OS_ENDPOINT)')
  .option('--token <token>', 'a token (default: $OS_TOKEN)')
  .option('--timeout <seconds>', 'give up after this long', '900')
  .exitOverride();

async function find(http: AxiosInstance, ref: string): Promise<InstanceView | undefined> {
  const direct = await http.get(`/instances/${encodeURIComponent(ref)}`);
  if (direct.status === 200) return direct.data.instance as InstanceView;
  let marker: string | undefined;
  for (;;) {
    const page = await http.get('/instances', { params: { marker } });
    if (page.status !== 200) throw new Error(`listing instances: HTTP ${page.status} ${JSON.stringify(page.data)}`);
    const hit = (page.data.instances as InstanceView[]).find((i) => i.name === ref);
    if (hit) return hit;
    const next = (page.data.links as Array<{ rel: string; href: string }> | undefined)?.find((l) => l.rel === 'next');
    if (!next) return undefined;
    marker = new URL(next.href).searchParams.get('marker') ?? undefined;
  }
}

async function main(): Promise<number> {
  try {
    program.parse(process.argv);
  } catch (err) {
    return err instanceof CommanderError && err.exitCode === 0 ? 0 : 2;
  }
  const o = program.opts<{ endpoint?: string; token?: string; timeout: string }>();
  const endpoint = o.endpoint ?? process.env.OS_ENDPOINT;
  const token = o.token ?? process.env.OS_TOKEN;
  const timeoutMs = Number(o.timeout) * 1000;
  if (!endpoint || !token || !(timeoutMs > 0)) {
    process.stderr.write('trove-wait: needs --endpoint/$OS_ENDPOINT, --token/$OS_TOKEN and a positive --timeout\n');
    return 2;
  }
  const http = axios.create({ baseURL: endpoint.replace(/\/$/, ''), headers: { 'X-Auth-Token': token }, validateStatus: () => true, timeout: 30_000 });
  const found = await find(http, program.args[0]!);
  if (!found) {
    process.stderr.write(`trove-wait: no instance ${program.args[0]}\n`);
    return 2;
  }
  const tty = process.stdout.isTTY;
  const start = Date.now();
  let last = '';
  for (;;) {
    const r = await http.get(`/instances/${found.id}`);
    if (r.status !== 200) {
      process.stdout.write(`${tty ? '\n' : ''}trove-wait: instance ${found.id}: HTTP ${r.status}\n`);
      return r.status === 404 ? 2 : 1;
    }
    const i = r.data.instance as InstanceView;
    const line = progressLine(i, Date.now() - start);
    const state = line.replace(/^\[[^\]]*\]/, '');
    if (tty) process.stdout.write(`\r\x1b[K${line}`);
    else if (state !== last) process.stdout.write(`${line}\n`);
    last = state;
    const end = outcome(i);
    if (end !== 'waiting') {
      if (tty) process.stdout.write('\n');
      return end === 'ready' ? 0 : 1;
    }
    if (Date.now() - start > timeoutMs) {
      process.stdout.write(`${tty ? '\n' : ''}trove-wait: ${i.name} still ${i.status} after ${o.timeout} s\n`);
      return 3;
    }
    await new Promise((res) => setTimeout(res, 1000));
  }
}

process.exit(await main());

// Readiness of the cloud lab, as the admin user through the catalog (run by tools/lab/cloud.sh):
//   wait-compute  waits until the fake nova-compute service reports up
//   ready         the flavors exist, every service answers a real call, the fake hypervisor is a
//                 placement resource provider (so the scheduler can place servers), the shared
//                 management network exists
import axios, { type AxiosRequestConfig } from 'axios';
import { cloudEnv, labIdentity } from './cloud-env.js';

const e = cloudEnv();
const admin = labIdentity(e.ADMIN_USER!, e.ADMIN_PASS!, e.ADMIN_PROJECT!);
const region = e.LAB_REGION!;

async function call<T = unknown>(type: string, config: AxiosRequestConfig): Promise<T> {
  const base = (await admin.endpoint({ type, region, interface: 'public' })).replace(/\/+$/, '');
  const r = await axios.request<T>({ timeout: 20_000, ...config, url: `${base}${config.url ?? ''}`, headers: { 'X-Auth-Token': await admin.token(), ...(config.headers ?? {}) } });
  return r.data;
}

async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = `: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`${what} not within ${seconds} s${last}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function waitCompute(): Promise<void> {
  await until('nova-compute up', 120, async () => {
    const r = await call<{ services: Array<{ host: string; state: string }> }>('compute', { url: '/os-services?binary=nova-compute' });
    return r.services.some((s) => s.host === e.CLOUD_COMPUTE_HOST && s.state === 'up') ? true : undefined;
  });
  process.stdout.write(`nova-compute ${e.CLOUD_COMPUTE_HOST} is up\n`);
}

/** The shared flat network the servers' ports go on (bound for the fake agent, see cloud.sh). */
async function managementNetwork(): Promise<void> {
  const name = e.CLOUD_NETWORK!;
  const nets = await call<{ networks: Array<{ id: string }> }>('network', { url: `/v2.0/networks?name=${name}` });
  let id = nets.networks[0]?.id;
  if (!id) {
    const r = await call<{ network: { id: string } }>('network', {
      method: 'POST',
      url: '/v2.0/networks',
      data: { network: { name, shared: true, 'provider:network_type': 'flat', 'provider:physical_network': 'physnet1' } },
    });
    id = r.network.id;
    process.stdout.write(`network ${name} created\n`);
  }
  const subnets = await call<{ subnets: unknown[] }>('network', { url: `/v2.0/subnets?network_id=${id}` });
  if (subnets.subnets.length === 0) {
    await call('network', { method: 'POST', url: '/v2.0/subnets', data: { subnet: { name: `${name}-v4`, network_id: id, ip_version: 4, cidr: e.CLOUD_NETWORK_CIDR, enable_dhcp: false } } });
  }
}

async function ready(): Promise<void> {
  for (const spec of e.CLOUD_FLAVORS!.split(',')) {
    const [name, vcpus, ram, disk] = spec.split(':') as [string, string, string, string];
    const exists = await call('compute', { url: `/flavors/${name}` }).then(() => true, (err) => {
      if (axios.isAxiosError(err) && err.response?.status === 404) return false;
      throw err;
    });
    if (!exists) {
      await call('compute', { method: 'POST', url: '/flavors', data: { flavor: { id: name, name, vcpus: Number(vcpus), ram: Number(ram), disk: Number(disk), 'OS-FLV-EXT-DATA:ephemeral': 1 } } });
      process.stdout.write(`flavor ${name} created\n`);
    }
  }
  await call('object-store', { method: 'HEAD', url: '' });
  await call('image', { url: '/v2/images?limit=1' });
  await managementNetwork();
  await call('volumev3', { url: '/types' });
  await until('the fake hypervisor in placement', 60, async () => {
    const r = await call<{ resource_providers: Array<{ name: string }> }>('placement', { url: '/resource_providers' });
    return r.resource_providers.some((p) => p.name === e.CLOUD_COMPUTE_HOST) ? true : undefined;
  });
  await until('the fake hypervisor mapped in nova', 60, async () => {
    const r = await call<{ hypervisors: Array<{ hypervisor_hostname: string; state: string }> }>('compute', { url: '/os-hypervisors' });
    return r.hypervisors.length > 0 ? true : undefined;
  });
  process.stdout.write('swift, glance, neutron, cinder answer; flavors and the fake hypervisor are there\n');
}

const cmd = process.argv[2];
try {
  if (cmd === 'wait-compute') await waitCompute();
  else if (cmd === 'ready') await ready();
  else throw new Error('usage: cloud-check.ts wait-compute|ready');
} catch (err) {
  // one line: method, URL, status and the service's own message (an axios error holds the token)
  const ax = axios.isAxiosError(err) ? err : undefined;
  const detail = ax ? `${ax.config?.method?.toUpperCase()} ${ax.config?.url}: ${ax.response?.status ?? ax.code} ${JSON.stringify(ax.response?.data ?? '').slice(0, 300)}` : (err as Error).message;
  process.stderr.write(`cloud-check ${cmd}: ${detail}\n`);
  process.exitCode = 1;
}

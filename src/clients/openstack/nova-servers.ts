// Nova servers behind ServerCompute: boot from the datastore image with block_device_mapping_v2
// (the data volume attached), the guest's config injected through cloud-init user_data (from the
// config drive; the metadata service closed to all but root), and the
// instance id in metadata so a resumed flow finds the server it created.
import { stringify } from 'yaml';
import { ComputeNotFoundError, type Flavor, type Server, type ServerCompute, type ServerSpec, type ServerAddress } from '../compute.js';
import { BackendNotFoundError } from './errors.js';
import { NovaCompute } from './nova.js';
import type { DriverOptions } from './http.js';

interface NovaServer {
  id: string;
  name: string;
  status: string;
  metadata?: Record<string, string>;
  addresses?: Record<string, Array<{ addr: string; 'OS-EXT-IPS:type'?: string; version?: number }>>;
  fault?: { message?: string };
}

export const GUEST_CONFIG_PATH = '/etc/trove/conf.d/guest_info.conf';

/**
 * The metadata service (169.254.169.254, and fe80::a9fe:a9fe) serves user_data to any process on
 * the VM; the guest config in it holds the instance's bus password and keys. A rule set by
 * cloud-init's bootcmd at every boot, before the agent installs or starts an engine, lets only
 * root (the agent) reach it, so the engine's OS user (or SQL run by the engine) cannot read them.
 */
const METADATA_ROOT_ONLY = [
  'iptables -C OUTPUT -d 169.254.169.254 -m owner ! --uid-owner 0 -j REJECT 2>/dev/null || iptables -I OUTPUT -d 169.254.169.254 -m owner ! --uid-owner 0 -j REJECT',
  '! command -v ip6tables >/dev/null || ip6tables -C OUTPUT -d fe80::a9fe:a9fe -m owner ! --uid-owner 0 -j REJECT 2>/dev/null || ip6tables -I OUTPUT -d fe80::a9fe:a9fe -m owner ! --uid-owner 0 -j REJECT',
];

/**
 * The cloud-config the guest boots with (base64, as Nova takes it): read by cloud-init from the
 * config drive (config_drive is always asked for), it writes the guest config 0600 root's and
 * closes the metadata service to every user but root.
 */
export function userData(guestConfig: string): string {
  const doc = {
    bootcmd: METADATA_ROOT_ONLY.map((cmd) => ['sh', '-c', cmd]),
    write_files: [{ path: GUEST_CONFIG_PATH, owner: 'root:root', permissions: '0600', content: guestConfig }],
  };
  return Buffer.from(`#cloud-config\n${stringify(doc, { lineWidth: 0 })}`).toString('base64');
}

function toServer(s: NovaServer): Server {
  const addresses: ServerAddress[] = [];
  for (const [network, list] of Object.entries(s.addresses ?? {})) {
    for (const a of list) {
      if (a.version === 6) continue;
      addresses.push({ address: a.addr, type: a['OS-EXT-IPS:type'] === 'floating' ? 'public' : 'private', network });
    }
  }
  return { id: s.id, status: s.status, addresses, fault: s.fault?.message };
}

export class NovaServers extends NovaCompute implements ServerCompute {
  constructor(
    o: DriverOptions,
    private readonly managementNetworks: string[] = [],
  ) {
    super(o);
  }

  async createServer(spec: ServerSpec): Promise<Server> {
    const existing = await this.findServerForInstance(spec.instanceId);
    if (existing) return existing;
    const networks = [...new Set([...this.managementNetworks, ...(spec.networkIds ?? [])])];
    const bdm: Array<Record<string, unknown>> = [
      { uuid: spec.imageId, source_type: 'image', destination_type: 'local', boot_index: 0, delete_on_termination: true },
    ];
    if (spec.volumeId) bdm.push({ uuid: spec.volumeId, source_type: 'volume', destination_type: 'volume', boot_index: -1, delete_on_termination: false });
    const body = {
      server: {
        name: spec.name,
        flavorRef: spec.flavor.id,
        imageRef: spec.imageId,
        block_device_mapping_v2: bdm,
        networks: networks.length ? networks.map((uuid) => ({ uuid })) : 'auto',
        security_groups: (spec.securityGroupIds ?? []).map((name) => ({ name })),
        user_data: userData(spec.guestConfig),
        config_drive: true,
        metadata: { trove_instance_id: spec.instanceId },
        ...(spec.availabilityZone ? { availability_zone: spec.availabilityZone } : {}),
      },
      ...(spec.serverGroupId ? { 'os:scheduler_hints': { group: spec.serverGroupId } } : {}),
    };
    const r = await this.http.request<{ server: { id: string } }>('server create', { method: 'POST', url: '/servers', data: body });
    return { id: r.server.id, status: 'BUILD', addresses: [] };
  }

  async getServer(id: string): Promise<Server> {
    try {
      return toServer((await this.http.request<{ server: NovaServer }>(`server ${id}`, { method: 'GET', url: `/servers/${id}` })).server);
    } catch (err) {
      if (err instanceof BackendNotFoundError) throw new ComputeNotFoundError('server', id);
      throw err;
    }
  }

  async findServerForInstance(instanceId: string): Promise<Server | undefined> {
    const r = await this.http.request<{ servers: NovaServer[] }>('servers', { method: 'GET', url: '/servers/detail' });
    const s = r.servers.find((x) => x.metadata?.trove_instance_id === instanceId && x.status !== 'DELETED');
    return s ? toServer(s) : undefined;
  }

  async deleteServer(id: string): Promise<void> {
    try {
      await this.http.request(`server ${id}`, { method: 'DELETE', url: `/servers/${id}` });
    } catch (err) {
      if (!(err instanceof BackendNotFoundError)) throw err;
    }
  }

  private action(id: string, body: object): Promise<unknown> {
    return this.http.request(`server ${id} action`, { method: 'POST', url: `/servers/${id}/action`, data: body });
  }

  async rebootServer(id: string): Promise<void> {
    await this.action(id, { reboot: { type: 'SOFT' } });
  }

  async rebuildServer(id: string, imageId: string): Promise<void> {
    await this.action(id, { rebuild: { imageRef: imageId } });
  }

  async resizeServer(id: string, flavor: Flavor): Promise<void> {
    await this.action(id, { resize: { flavorRef: flavor.id } });
  }

  async consoleOutput(id: string, lines: number): Promise<string> {
    const r = (await this.action(id, { 'os-getConsoleOutput': { length: lines } })) as { output?: unknown } | undefined;
    return typeof r?.output === 'string' ? r.output : '';
  }

  async confirmResize(id: string): Promise<void> {
    const s = await this.getServer(id);
    if (s.status === 'VERIFY_RESIZE') await this.action(id, { confirmResize: null });
  }
}

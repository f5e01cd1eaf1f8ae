// Neutron security groups behind Network: one group per instance with the datastore's ports.
import type { Network, NetworkLookup, SecurityRule } from '../network.js';
import { BackendNotFoundError } from './errors.js';
import { HttpDriver, type DriverOptions } from './http.js';

interface Group {
  id: string;
  name: string;
}

interface Rule {
  id: string;
  direction: string;
}

export class NeutronNetwork implements Network {
  private readonly http: HttpDriver;

  constructor(o: DriverOptions) {
    this.http = new HttpDriver('network', o);
  }

  private async find(name: string): Promise<Group | undefined> {
    const r = await this.http.request<{ security_groups: Group[] }>('security groups', {
      method: 'GET',
      url: `/v2.0/security-groups?name=${encodeURIComponent(name)}`,
    });
    return r.security_groups.find((g) => g.name === name);
  }

  private async addRules(groupId: string, rules: SecurityRule[]): Promise<void> {
    for (const rule of rules) {
      await this.http.request('security group rule', {
        method: 'POST',
        url: '/v2.0/security-group-rules',
        data: {
          security_group_rule: {
            security_group_id: groupId,
            direction: 'ingress',
            ethertype: 'IPv4',
            protocol: rule.protocol,
            port_range_min: rule.port,
            port_range_max: rule.port,
            remote_ip_prefix: rule.cidr,
          },
        },
      });
    }
  }

  async ensureSecurityGroup(name: string, rules: SecurityRule[]): Promise<string> {
    const existing = await this.find(name);
    if (existing) {
      await this.replaceRules(existing.id, rules);
      return existing.id;
    }
    const r = await this.http.request<{ security_group: Group }>('security group create', {
      method: 'POST',
      url: '/v2.0/security-groups',
      data: { security_group: { name, description: 'trove-ts instance access' } },
    });
    await this.addRules(r.security_group.id, rules);
    return r.security_group.id;
  }

  async replaceRules(groupIdOrName: string, rules: SecurityRule[]): Promise<void> {
    const id = /^[0-9a-f-]{36}$/.test(groupIdOrName) ? groupIdOrName : (await this.find(groupIdOrName))?.id;
    if (!id) throw new Error(`security group ${groupIdOrName} not found`);
    const r = await this.http.request<{ security_group_rules: Rule[] }>('rules', { method: 'GET', url: `/v2.0/security-group-rules?security_group_id=${id}` });
    for (const rule of r.security_group_rules.filter((x) => x.direction === 'ingress')) {
      await this.http.request('rule delete', { method: 'DELETE', url: `/v2.0/security-group-rules/${rule.id}` });
    }
    await this.addRules(id, rules);
  }

  async deleteSecurityGroup(nameOrId: string): Promise<void> {
    const id = /^[0-9a-f-]{36}$/.test(nameOrId) ? nameOrId : (await this.find(nameOrId))?.id;
    if (!id) return;
    try {
      await this.http.request('security group delete', { method: 'DELETE', url: `/v2.0/security-groups/${id}` });
    } catch (err) {
      if (!(err instanceof BackendNotFoundError)) throw err;
    }
  }
}

/** Networks as the caller sees them: built with the caller's token (userClients, userPlacement). */
export class NeutronLookup implements NetworkLookup {
  private readonly http: HttpDriver;

  constructor(o: DriverOptions) {
    this.http = new HttpDriver('network', o);
  }

  async findNetwork(id: string): Promise<{ id: string } | undefined> {
    try {
      const r = await this.http.request<{ network: { id: string } }>('network', { method: 'GET', url: `/v2.0/networks/${encodeURIComponent(id)}` });
      return { id: r.network.id };
    } catch (err) {
      if (err instanceof BackendNotFoundError) return undefined;
      throw err;
    }
  }
}

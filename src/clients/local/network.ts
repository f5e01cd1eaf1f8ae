// Network on this machine: every instance listens on its own loopback address only, so there is
// no firewall to program; groups are recorded so the flows stay the same as in a cloud.
import type { Network, SecurityRule } from '../network.js';
import type { ZoneLookup } from '../compute.js';

export class LocalNetwork implements Network {
  private readonly groups = new Map<string, SecurityRule[]>();

  async ensureSecurityGroup(name: string, rules: SecurityRule[]): Promise<string> {
    this.groups.set(name, rules);
    return name;
  }

  async replaceRules(groupId: string, rules: SecurityRule[]): Promise<void> {
    this.groups.set(groupId, rules);
  }

  async deleteSecurityGroup(name: string): Promise<void> {
    this.groups.delete(name);
  }
}

/** The all-in-one's availability zones: one, Nova's default `nova` (every instance is on this
 * machine). There is no local network lookup: the all-in-one has no networks a caller could name. */
export class LocalZones implements ZoneLookup {
  async availabilityZones(): Promise<string[]> {
    return ['nova'];
  }
}

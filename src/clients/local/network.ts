// Network on this machine: every instance listens on its own loopback address only, so there is
// no firewall to program; groups are recorded so the flows stay the same as in a cloud.
import type { Network, NetworkLookup, SecurityRule } from '../network.js';
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

/** The all-in-one's own notion of placement: it has no networks or ports a caller could name
 * (every instance is on loopback), and one availability zone, Nova's default `nova`. */
export class LocalPlacement implements NetworkLookup, ZoneLookup {
  async findNetwork(): Promise<undefined> {
    return undefined;
  }

  async findPort(): Promise<undefined> {
    return undefined;
  }

  async availabilityZones(): Promise<string[]> {
    return ['nova'];
  }
}

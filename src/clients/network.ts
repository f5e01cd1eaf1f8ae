// Network (Neutron) in our terms: the per-instance security group with the datastore's ports.

export interface SecurityRule {
  protocol: 'tcp' | 'udp';
  port: number;
  cidr: string;
}

export interface Network {
  /** Creates the group with its rules, or returns the existing one of that name (resume). */
  ensureSecurityGroup(name: string, rules: SecurityRule[]): Promise<string>;
  replaceRules(groupId: string, rules: SecurityRule[]): Promise<void>;
  /** Deletes; a group that is already gone is fine. */
  deleteSecurityGroup(name: string): Promise<void>;
}

/** What the caller's own token can see of the network (asked before anything is created for them). */
export interface NetworkLookup {
  /** The network, or undefined when the caller cannot see it (Neutron's 404 with the caller's token). */
  findNetwork(id: string): Promise<{ id: string } | undefined>;
}

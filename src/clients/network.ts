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

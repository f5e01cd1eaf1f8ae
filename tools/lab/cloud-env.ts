// The cloud lab's settings: tools/lab/lab.env (Keystone, users) and tools/lab/cloud.env (the
// OpenStack services of cloud.sh), environment first, as the shell scripts read them.
import { readFileSync } from 'node:fs';
import { processEnv } from '../../src/common/config/reader.js';
import { KeystoneServiceIdentity } from '../../src/clients/openstack/keystone.js';

export function cloudEnv(): Record<string, string> {
  const env = processEnv();
  const out: Record<string, string> = {};
  for (const file of ['./lab.env', './cloud.env']) {
    const text = readFileSync(new URL(file, import.meta.url), 'utf8');
    for (const m of text.matchAll(/^:\s+"\$\{(\w+):=([^}]*)\}"/gm)) out[m[1]!] = env[m[1]!] ?? m[2]!;
  }
  return out;
}

/** A project-scoped session (token + catalog) for one of the lab's users. */
export function labIdentity(user: string, password: string, project: string): KeystoneServiceIdentity {
  const e = cloudEnv();
  return new KeystoneServiceIdentity({
    auth_url: `http://${e.LAB_HOST}:${e.KEYSTONE_PORT}/v3`,
    auth_type: 'password',
    username: user,
    password,
    project_name: project,
    user_domain_name: 'Default',
    project_domain_name: 'Default',
    region_name: e.LAB_REGION,
    interface: 'public',
    http_connect_timeout: 15,
  });
}

// The lab Keystone (tools/lab/keystone.sh) as the compatibility tests see it.
import { KeystoneAdmin } from '../../tools/lab/keystone-admin.js';
import { labEnv } from '../../tools/lab/lab-env.js';

export const lab = labEnv();
export const KEYSTONE_URL = `http://${lab.LAB_HOST}:${lab.KEYSTONE_PORT}/v3`;

export interface LabUser {
  name: string;
  password: string;
  project: string;
}

export const ADMIN: LabUser = { name: lab.ADMIN_USER!, password: lab.ADMIN_PASS!, project: lab.ADMIN_PROJECT! };
export const DEMO: LabUser = { name: lab.DEMO_USER!, password: lab.DEMO_PASS!, project: lab.DEMO_PROJECT! };
export const READER: LabUser = { name: lab.READER_USER!, password: lab.READER_PASS!, project: lab.DEMO_PROJECT! };

export function keystoneAdmin(): Promise<KeystoneAdmin> {
  return KeystoneAdmin.login(KEYSTONE_URL, ADMIN.name, ADMIN.password, ADMIN.project);
}

/** The keystone sections of a trove.conf using the lab's trove-ts service user. */
export function keystoneConfig(): Record<string, Record<string, string>> {
  const creds = {
    auth_url: KEYSTONE_URL,
    auth_type: 'password',
    username: lab.TROVE_TS_USER!,
    password: lab.TROVE_TS_PASS!,
    project_name: lab.SERVICE_PROJECT!,
    user_domain_name: 'Default',
    project_domain_name: 'Default',
    region_name: lab.LAB_REGION!,
  };
  return {
    keystone_authtoken: { ...creds, www_authenticate_uri: `http://${lab.LAB_HOST}:${lab.KEYSTONE_PORT}` },
    service_credentials: creds,
  };
}

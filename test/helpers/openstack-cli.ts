// Runs Debian's real `openstack` CLI (python-openstackclient + python-troveclient) as a lab user.
import { spawn } from 'node:child_process';
import { KEYSTONE_URL, type LabUser } from './keystone-lab.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function openstack(user: LabUser, region: string, args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/tmp',
    LC_ALL: 'C.UTF-8',
    no_proxy: '127.0.0.1,localhost',
    OS_AUTH_URL: KEYSTONE_URL,
    OS_IDENTITY_API_VERSION: '3',
    OS_USERNAME: user.name,
    OS_PASSWORD: user.password,
    OS_PROJECT_NAME: user.project,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_REGION_NAME: region,
    OS_INTERFACE: 'public',
    ...extraEnv,
  };
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/openstack', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command with `-f json` and parses its output; throws with stderr when it fails. */
export async function openstackJson<T = unknown>(user: LabUser, region: string, args: string[]): Promise<T> {
  const r = await openstack(user, region, [...args, '-f', 'json']);
  if (r.code !== 0) throw new Error(`openstack ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

// Registers the cloud lab's services in the lab Keystone (idempotent): one service user per
// service (admin + service in the service project), Swift's ResellerAdmin role, and each
// service's public/internal/admin endpoints in the lab's region. Run by tools/lab/cloud.sh.
import { KeystoneAdmin } from './keystone-admin.js';
import { cloudEnv } from './cloud-env.js';

const e = cloudEnv();
const host = e.LAB_HOST!;
const ks = await KeystoneAdmin.login(`http://${host}:${e.KEYSTONE_PORT}/v3`, e.ADMIN_USER!, e.ADMIN_PASS!, e.ADMIN_PROJECT!);
for (const r of ['admin', 'member', 'reader', 'service', 'ResellerAdmin']) await ks.role(r);
const services: Array<[user: string, type: string, name: string, url: string]> = [
  ['swift', 'object-store', 'swift', `http://${host}:${e.SWIFT_PROXY_PORT}/v1/AUTH_%(project_id)s`],
  ['glance', 'image', 'glance', `http://${host}:${e.GLANCE_PORT}`],
  ['placement', 'placement', 'placement', `http://${host}:${e.PLACEMENT_PORT}`],
  ['neutron', 'network', 'neutron', `http://${host}:${e.NEUTRON_PORT}`],
  ['nova', 'compute', 'nova', `http://${host}:${e.NOVA_PORT}/v2.1`],
  ['cinder', 'volumev3', 'cinderv3', `http://${host}:${e.CINDER_PORT}/v3/%(project_id)s`],
];
await ks.project(e.SERVICE_PROJECT!);
await ks.region(e.LAB_REGION!);
// Keystone hashes each password (bcrypt): the services are registered side by side
await Promise.all(
  services.map(async ([user, type, name, url]) => {
    await ks.user(user, e.CLOUD_SERVICE_PASS!, e.SERVICE_PROJECT!, ['admin', 'service']);
    await ks.endpoint(type, name, url, e.LAB_REGION!);
  }),
);
process.stdout.write(`cloud services registered in ${e.LAB_REGION}: ${services.map((s) => s[1]).join(', ')}\n`);

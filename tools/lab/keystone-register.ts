// Registers what the compatibility tests need in the lab Keystone (idempotent): roles, the service
// project, trove-ts's service user (admin in `service`), a member and a reader in `demo`.
import { KeystoneAdmin } from './keystone-admin.js';
import { labEnv } from './lab-env.js';

const e = labEnv();
const ks = await KeystoneAdmin.login(`http://${e.LAB_HOST}:${e.KEYSTONE_PORT}/v3`, e.ADMIN_USER!, e.ADMIN_PASS!, e.ADMIN_PROJECT!);
for (const r of ['admin', 'member', 'reader', 'service']) await ks.role(r);
await ks.project(e.SERVICE_PROJECT!);
await ks.user(e.TROVE_TS_USER!, e.TROVE_TS_PASS!, e.SERVICE_PROJECT!, ['admin', 'service']);
await ks.user(e.DEMO_USER!, e.DEMO_PASS!, e.DEMO_PROJECT!, ['member', 'reader']);
await ks.user(e.READER_USER!, e.READER_PASS!, e.DEMO_PROJECT!, ['reader']);
process.stdout.write('keystone users registered\n');

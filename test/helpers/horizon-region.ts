// The whole control plane as Horizon sees it, in a Keystone region of the test's own (so Horizon
// tests running at once each reach their own trove-ts): trove-ts's endpoint beside the cloud lab's
// Nova (trove-ts's local flavors are Nova's, which the Launch Database form offers), Neutron (its
// networks), Cinder (volume types) and Swift (the Backups panel needs an object store).
import axios, { type AxiosInstance } from 'axios';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { DEMO, keystoneAdmin, keystoneConfig } from './keystone-lab.js';
import { registerDatastore } from './datastores.js';
import { cloud } from './cloud-lab.js';

export interface NovaFlavor {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
}

export interface HorizonRegion {
  cp: ControlPlane;
  /** trove-ts's API as the demo user (their own token and project) */
  api: AxiosInstance;
  /** Nova's flavors, as trove-ts lists them */
  flavors: NovaFlavor[];
}

/** Starts a control plane with mariadb 10.11 registered and points `region`'s catalog at it and at the cloud lab. */
export async function startHorizonRegion(region: string): Promise<HorizonRegion> {
  const ks = await keystoneAdmin();
  const demo = await ks.token(DEMO.name, DEMO.password, DEMO.project);
  const host = cloud.LAB_HOST!;
  const nova = `http://${host}:${cloud.NOVA_PORT}/v2.1`;
  const nf = await axios.get(`${nova}/flavors/detail`, { headers: { 'X-Auth-Token': demo.token } });
  const flavors = nf.data.flavors as NovaFlavor[];
  const local = flavors.map((f) => `${f.id}:${f.name}:${f.ram}:${f.vcpus}:${f.disk}`).join(',');
  const cp = await startControlPlane({ config: { ...keystoneConfig(), local: { flavors: local } } });
  try {
    await registerDatastore(cp.tdb.db);
    await ks.endpoint('database', 'trove-ts', `${cp.api.url}/v1.0/$(tenant_id)s`, region);
    await ks.endpoint('compute', 'nova', nova, region);
    await ks.endpoint('network', 'neutron', `http://${host}:${cloud.NEUTRON_PORT}`, region);
    await ks.endpoint('volumev3', 'cinderv3', `http://${host}:${cloud.CINDER_PORT}/v3/%(project_id)s`, region);
    await ks.endpoint('object-store', 'swift', `http://${host}:${cloud.SWIFT_PROXY_PORT}/v1/AUTH_%(project_id)s`, region);
  } catch (err) {
    await cp.stop();
    throw err;
  }
  const api = axios.create({ baseURL: `${cp.api.url}/v1.0/${demo.projectId}`, headers: { 'X-Auth-Token': demo.token }, validateStatus: () => true });
  return { cp, api, flavors };
}

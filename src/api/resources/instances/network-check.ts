// The network and availability zone of POST /instances, checked with the caller's own token before
// anything is stored or cast: the taskmanager creates ports and servers with the service's
// identity, which can see every project's networks (Trove's NetworkNotFound wording). A nic names
// a network only (net-id or network_id; port-id is no key of the schema, as in Trove).
import type { Context } from 'koa';
import { BadRequestError } from '../../../common/errors.js';
import { requestContext, tokenInfo, type ApiDeps } from '../../deps.js';
import { translateDriverError } from '../../driver-errors.js';

export interface NicRequest {
  network_id?: string | undefined;
}

async function asked<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw translateDriverError(err); // Neutron or Nova unreachable or slow: 503, never a 500
  }
}

export async function checkPlacement(ctx: Context, deps: ApiDeps, nics: NicRequest[], zone: string | undefined): Promise<void> {
  if (!nics.some((n) => n.network_id) && !zone) return;
  const clients = deps.userClients(requestContext(ctx), tokenInfo(ctx));
  for (const nic of nics) {
    if (!nic.network_id) continue;
    if (!clients.network) {
      // the all-in-one without Keystone (or a catalog with no Neutron): nothing to place it on
      throw new BadRequestError(
        `Network ${nic.network_id} cannot be used: this deployment has no network service, so there are no networks to choose from (omit nics).`,
      );
    }
    if (!(await asked(clients.network.findNetwork(nic.network_id)))) throw new BadRequestError(`Network ${nic.network_id} could not be found.`);
  }
  if (zone) {
    const zones = clients.zones ? await asked(clients.zones.availabilityZones()) : [];
    if (!zones.includes(zone)) throw new BadRequestError(`The requested availability zone ${zone} is not available.`);
  }
}

// The networks, ports and availability zone of POST /instances, checked with the caller's own
// token before anything is stored or cast: the taskmanager creates ports and servers with the
// service's identity, which can see every project's networks (Trove's NetworkNotFound wording).
import type { Context } from 'koa';
import { BadRequestError } from '../../../common/errors.js';
import { requestContext, tokenInfo, type ApiDeps } from '../../deps.js';
import { translateDriverError } from '../../driver-errors.js';

export interface NicRequest {
  network_id?: string | undefined;
  port_id?: string | undefined;
}

async function asked<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw translateDriverError(err); // Neutron or Nova unreachable: 503, never a 500
  }
}

export async function checkPlacement(ctx: Context, deps: ApiDeps, nics: NicRequest[], zone: string | undefined): Promise<void> {
  if (!nics.length && !zone) return;
  const clients = deps.userClients(requestContext(ctx), tokenInfo(ctx));
  const projectId = requestContext(ctx).projectId;
  for (const nic of nics) {
    if (nic.network_id) {
      const net = clients.network ? await asked(clients.network.findNetwork(nic.network_id)) : undefined;
      if (!net) throw new BadRequestError(`Network ${nic.network_id} could not be found.`);
    }
    if (nic.port_id) {
      const port = clients.network ? await asked(clients.network.findPort(nic.port_id)) : undefined;
      if (!port) throw new BadRequestError(`Port ${nic.port_id} could not be found.`);
      if (port.projectId && port.projectId !== projectId) throw new BadRequestError(`Port ${nic.port_id} could not be found.`);
      if (port.deviceId) throw new BadRequestError(`Port ${nic.port_id} is still in use.`);
    }
  }
  if (zone) {
    const zones = clients.zones ? await asked(clients.zones.availabilityZones()) : [];
    if (!zones.includes(zone)) throw new BadRequestError(`The requested availability zone ${zone} is not available.`);
  }
}

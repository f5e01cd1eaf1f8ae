// POST /instances: validate against flavors, datastores, volume rules and quotas, then the
// instance service stores the instance as BUILD with its quota usage and hands it to the taskmanager.
import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, NotImplementedError, OverLimitError } from '../../../common/errors.js';
import { ComputeNotFoundError, type Flavor } from '../../../clients/compute.js';
import { getInstance } from '../../../db/instances.js';
import { getConfiguration } from '../../../db/configurations.js';
import type { BackupStorage } from '../../../rpc/contracts/common.js';
import { instanceService } from '../../instance-service/service.js';
import { versionMetadata } from '../../../db/datastores.js';
import { getBackup, type BackupRecord } from '../../../db/backups.js';
import { checkDatabaseName, checkHost, checkPassword, checkUserName } from './guest-access.js';
import { requestContext, tokenInfo, type ApiDeps, type CreateInstanceCast } from '../../deps.js';
import { resolveForCreate } from '../datastores/lookup.js';
import { planReplicas } from './replica-create.js';
import { checkPlacement } from './network-check.js';
import type { InstanceCreateBody } from './schemas.js';
import { announced, castWith, startNotice } from '../../dbaas-notice.js';

export async function findFlavor(ctx: Context, deps: ApiDeps, flavorRef: string | undefined): Promise<Flavor> {
  if (!flavorRef) throw new BadRequestError('Resource None cannot be found.');
  try {
    return await deps.userClients(requestContext(ctx), tokenInfo(ctx)).compute.getFlavor(flavorRef);
  } catch (err) {
    if (err instanceof ComputeNotFoundError) throw new BadRequestError(`Resource ${flavorRef} cannot be found.`);
    throw err;
  }
}

function checkUnique<T>(items: T[], key: (t: T) => string, message: string): void {
  const seen = new Set<string>();
  for (const it of items) {
    const k = key(it);
    if (seen.has(k)) throw new BadRequestError(message);
    seen.add(k);
  }
}

function unsupported(body: InstanceCreateBody): void {
  if (body.modules?.length) throw new NotImplementedError('Modules are not supported by this deployment.');
}

async function checkVolume(ctx: Context, deps: ApiDeps, body: InstanceCreateBody, versionId: string): Promise<{ size: number | null; type: string | null }> {
  const { trove_volume_support: supported, max_accepted_volume_size: max } = deps.config;
  if (!supported) {
    if (body.volume) throw new NotImplementedError('Volume support is not enabled.');
    return { size: null, type: null };
  }
  if (!body.volume) throw new BadRequestError('Volume size was not specified.');
  const size = body.volume.size;
  if (size > max) {
    throw new OverLimitError(`Volume 'size' cannot exceed maximum of ${max} GB, ${size} cannot be accommodated.`);
  }
  const type = body.volume.type ?? null;
  if (type) {
    const allowed = await versionMetadata(deps.db, versionId, 'volume_type');
    const types = await deps.userClients(requestContext(ctx), tokenInfo(ctx)).blockStorage.listVolumeTypes();
    const found = types.find((t) => t.id === type || t.name === type);
    if (!found) throw new BadRequestError(`Volume type ${type} cannot be found.`);
    if (allowed.length && !allowed.includes(found.id) && !allowed.includes(found.name)) {
      throw new BadRequestError(`Volume type ${type} is not allowed for this datastore version.`);
    }
  }
  return { size, type };
}

/** The backup a restorePoint names: the caller's, COMPLETED (Trove's 404 and 409 otherwise). */
async function restorableBackup(ctx: Context, deps: ApiDeps, ref: string): Promise<BackupRecord> {
  const context = requestContext(ctx);
  const b = await getBackup(deps.db, ref, context.isAdmin ? undefined : context.projectId);
  if (!b) throw new NotFoundError(`Backup ${ref} cannot be found.`);
  if (b.state !== 'COMPLETED' || !b.location)
    throw new ConflictError(`Backup ${ref} is not complete (it is ${b.state}); only a COMPLETED backup can be restored.`);
  return b;
}

/** `restoreTo` (a point-in-time restore, trove-ts): after the backup, the source's logs are replayed up to the time. */
export async function createInstance(ctx: Context, deps: ApiDeps, requested: InstanceCreateBody, restoreTo?: { time: string; source_instance_id: string }) {
  const context = requestContext(ctx);
  unsupported(requested);
  // a replica: its source's flavor, datastore version and volume (several: name-1, name-2, ...)
  const replicas = await planReplicas(ctx, deps, requested);
  const body = replicas?.body ?? requested;
  const count = replicas?.count ?? 1;
  const flavor = await findFlavor(ctx, deps, body.flavorRef);
  const backup = body.restorePoint ? await restorableBackup(ctx, deps, body.restorePoint.backupRef) : undefined;
  // with a backup, databases and users are made on the restored data (the backup's own are kept)
  const wanted = body.datastore ?? (backup ? { type: backup.datastore_name ?? undefined, version: backup.datastore_version_name ?? undefined } : {});
  const { datastore, version } = await resolveForCreate(deps.db, wanted, deps.config.default_datastore);
  if (backup && backup.datastore_version_id !== version.id) {
    throw new BadRequestError(
      `The backup ${backup.id} is of datastore ${backup.datastore_name} version ${backup.datastore_version_name}; it can only be restored into that version, not ${datastore.name} ${version.name}.`,
    );
  }
  const allowedFlavors = await versionMetadata(deps.db, version.id, 'flavor');
  if (allowedFlavors.length && !allowedFlavors.includes(flavor.id)) {
    throw new BadRequestError(`Flavor ${flavor.id} is not supported for datastore ${datastore.name} version ${version.name}.`);
  }
  const volume = await checkVolume(ctx, deps, body, version.id);
  if (backup && volume.size !== null && backup.size !== null && backup.size > volume.size) {
    throw new ForbiddenError(`Backup is too large for given flavor or volume. Backup size: ${backup.size} GBs. Available size: ${volume.size} GBs.`);
  }
  const databases = body.databases ?? [];
  const users = (body.users ?? []).map((u) => ({
    name: u.name,
    password: u.password,
    host: u.host ?? '%',
    databases: (u.databases ?? []).map((d) => d.name),
  }));
  // the datastore's name rules, before anything is stored (the guest checks the engine's own again)
  const names = deps.datastoreNames(version.manager);
  for (const d of databases) checkDatabaseName(d.name, names);
  for (const u of users) {
    checkUserName(u.name, names);
    checkHost(u.host);
    checkPassword(u.password);
  }
  checkUnique(databases, (d) => d.name, 'Two or more databases share the same name in the request.');
  checkUnique(users, (u) => `${u.name}@${u.host}`, 'Two or more users share the same name and host in the request.');
  for (const u of users) {
    for (const d of u.databases) {
      // a restored instance also has the backup's databases
      if (!backup && !databases.some((x) => x.name === d)) {
        throw new BadRequestError(`Database '${d}' of user '${u.name}' is not in the request's databases.`);
      }
    }
  }
  if (body.configuration) {
    const cfg = await getConfiguration(deps.db, body.configuration, context.projectId);
    if (!cfg) throw new NotFoundError(`Configuration group ${body.configuration} cannot be found.`);
    if (cfg.datastore_version_id !== version.id) {
      throw new BadRequestError('The configuration group is for another datastore version than the instance.');
    }
  }
  const nics = (body.nics ?? []).map((n) => ({
    network_id: n['net-id'] ?? n.network_id,
    subnet_id: n.subnet_id,
    ip_address: n.ip_address ?? n['v4-fixed-ip'],
  }));
  // with the caller's token, before the service's identity creates anything with them
  await checkPlacement(ctx, deps, nics, body.availability_zone);
  const access = { is_public: body.access?.is_public ?? false, allowed_cidrs: body.access?.allowed_cidrs ?? [] };

  const ids = Array.from({ length: count }, () => randomUUID());
  const nameOf = (i: number) => (count > 1 ? `${body.name}-${i + 1}` : body.name);
  const instances = ids.map((id, i) => ({
    id,
    name: nameOf(i),
    flavor_id: flavor.id,
    volume_size: volume.size,
    volume_type: volume.type,
    tenant_id: context.projectId,
    datastore_version_id: version.id,
    configuration_id: body.configuration ?? null,
    slave_of_id: replicas?.source.id ?? null,
    region_id: body.region_name ?? deps.config.os_region_name,
    encrypted_key: deps.secure.newInstanceKey(),
    availability_zone: body.availability_zone ?? null,
    locality: body.locality ?? null,
    access,
    usage: { instances: 1, ram: flavor.ram, volumes: volume.size ?? 0 },
  }));
  const cast = (id: string, i: number, storage: BackupStorage | null): CreateInstanceCast => ({
    instance_id: id,
    name: nameOf(i),
    flavor_id: flavor.id,
    image_id: version.image_id,
    image_tags: (version.image_tags ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    databases,
    users,
    datastore_manager: version.manager,
    packages: (version.packages ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    volume_size: volume.size,
    volume_type: volume.type,
    availability_zone: body.availability_zone ?? null,
    root_password: null,
    nics,
    configuration_id: body.configuration ?? null,
    locality: body.locality ?? null,
    access,
    ds_version: version.version ?? version.name,
    backup_id: backup?.id ?? null,
    restore_storage: storage,
    slave_of_id: replicas?.source.id ?? null,
    ...(restoreTo ? { restore_to: restoreTo } : {}),
  });
  // stored in BUILD with their quota (413: nothing stored), then one cast each; an instance not
  // cast is not left in BUILD for ever: it shows ERROR with a fault, and its quota is given back
  // Trove's DBaaSInstanceCreate: started here, ended by the taskmanager when the instance is ACTIVE
  const notice = startNotice(deps, ctx, 'instance_create', {
    name: body.name,
    flavor_id: flavor.id,
    datastore: datastore.name,
    datastore_version: version.name,
    image_id: version.image_id,
    availability_zone: body.availability_zone ?? null,
    region_name: body.region_name ?? deps.config.os_region_name,
    volume_size: volume.size,
    databases: databases.map((d) => d.name),
    ...(backup ? { backup_id: backup.id } : {}),
    ...(replicas ? { replica_of: replicas.source.id, replica_count: count } : {}),
  });
  await announced(deps, notice, () =>
    instanceService(deps).create({
      what: 'create_instance',
      projectId: context.projectId,
      instances,
      // a replica's snapshot is a backup of its source, in the store the caller's backups use
      prepare: async () => (backup || replicas ? await deps.backupStorage(context, tokenInfo(ctx)) : null),
      casts: (storage) => ids.map((id, i) => ({ ids: [id], send: () => deps.taskmanager.create_instance(cast(id, i, storage), castWith(notice)) })),
      unreachable: () => 'The taskmanager could not be reached; the instance was not built.',
    }),
  );
  // several replicas: Trove answers the last one
  const row = await getInstance(deps.db, ids[ids.length - 1]!);
  return row!;
}

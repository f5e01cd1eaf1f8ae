// taskmanager: the long flows the API hands over (all casts: the API answers first).
import { z } from 'zod';
import { defineContract } from '../contract.js';
import { backupInfo, backupStorage, nothing } from './common.js';

export { TASKMANAGER_TOPIC } from '../topics.js';

const instanceOnly = z.object({ instance_id: z.string() });
const access = z.object({ is_public: z.boolean(), allowed_cidrs: z.array(z.string()) });

export const createInstanceArgs = z.object({
  instance_id: z.string(),
  name: z.string(),
  flavor_id: z.string(),
  image_id: z.string().nullable(),
  image_tags: z.array(z.string()),
  databases: z.array(z.object({ name: z.string(), character_set: z.string().optional(), collate: z.string().optional() })),
  users: z.array(z.object({ name: z.string(), password: z.string(), host: z.string(), databases: z.array(z.string()) })),
  datastore_manager: z.string(),
  packages: z.array(z.string()),
  volume_size: z.number().int().nullable(),
  volume_type: z.string().nullable(),
  availability_zone: z.string().nullable(),
  root_password: z.string().nullable(),
  nics: z.array(z.object({ network_id: z.string().optional(), subnet_id: z.string().optional(), ip_address: z.string().optional() })),
  configuration_id: z.string().nullable(),
  locality: z.string().nullable(),
  access,
  ds_version: z.string(),
  /** restore: the backup the new instance starts from, and where it is stored (the user's rights) */
  backup_id: z.string().nullable().default(null),
  restore_storage: backupStorage.nullish(),
  /** trove-ts point-in-time restore: after the backup, the source instance's archived logs up to this time (ISO 8601) */
  restore_to: z.object({ time: z.string(), source_instance_id: z.string() }).nullish(),
  /** a replica (Trove's slave_of_id): the source it starts from (a snapshot backup of it, in restore_storage) and replicates */
  slave_of_id: z.string().nullish(),
});

export type CreateInstanceArgs = z.output<typeof createInstanceArgs>;

export const taskmanagerContract = defineContract({
  create_instance: { kind: 'cast', since: '1.0', args: createInstanceArgs, result: nothing },
  delete_instance: { kind: 'cast', since: '1.0', args: instanceOnly, result: nothing },
  restart: { kind: 'cast', since: '1.0', args: instanceOnly, result: nothing },
  reboot: { kind: 'cast', since: '1.0', args: instanceOnly, result: nothing },
  stop_db: { kind: 'cast', since: '1.0', args: instanceOnly, result: nothing },
  start_db: { kind: 'cast', since: '1.0', args: instanceOnly, result: nothing },
  resize_flavor: {
    kind: 'cast',
    since: '1.0',
    args: z.object({ instance_id: z.string(), old_flavor_id: z.string(), new_flavor_id: z.string() }),
    result: nothing,
  },
  resize_volume: { kind: 'cast', since: '1.0', args: z.object({ instance_id: z.string(), new_size: z.number().int() }), result: nothing },
  update_access: { kind: 'cast', since: '1.0', args: z.object({ instance_id: z.string(), access }), result: nothing },
  /** A configuration group onto the instance's guest: on attach, and again after the group changed. */
  apply_configuration: {
    kind: 'cast',
    since: '1.0',
    args: z.object({
      instance_id: z.string(),
      configuration_id: z.string(),
      /** the group the instance had before (null: none), restored if the guest refuses the new one */
      previous_configuration_id: z.string().nullable().default(null),
      /** the instance needs a restart whatever the values (already pending, or values were dropped) */
      restart_required: z.boolean().default(false),
      /** the keys whose value changed (null: all); only a changed static value needs a restart */
      changed: z.array(z.string()).nullable().default(null),
    }),
    result: nothing,
  },
  /** The instance's group is detached: the guest drops the overrides (in effect after a restart). */
  unassign_configuration: {
    kind: 'cast',
    since: '1.0',
    args: z.object({
      instance_id: z.string(),
      previous_configuration_id: z.string().nullable().default(null),
      /** a restart was pending before (kept if the guest refuses) */
      restart_required: z.boolean().default(false),
    }),
    result: nothing,
  },
  create_backup: { kind: 'cast', since: '1.0', args: z.object({ instance_id: z.string(), backup_info: backupInfo, storage: backupStorage }), result: nothing },
  /** the one verb without an instance: the backup's own id */
  delete_backup: { kind: 'cast', since: '1.0', args: z.object({ backup_id: z.string(), storage: backupStorage }), result: nothing },
  detach_replica: { kind: 'cast', since: '1.0', args: instanceOnly, result: nothing },
  promote_to_replica_source: { kind: 'cast', since: '1.0', args: instanceOnly, result: nothing },
  eject_replica_source: { kind: 'cast', since: '1.0', args: instanceOnly, result: nothing },
  /** Trove's upgrade: the instance (and a source's replicas, first) onto another version of its datastore; a backup is taken first (the user's storage). */
  upgrade: {
    kind: 'cast',
    since: '1.1',
    args: z.object({ instance_id: z.string(), datastore_version_id: z.string(), storage: backupStorage }),
    result: nothing,
  },
});

export type TaskmanagerContract = typeof taskmanagerContract;

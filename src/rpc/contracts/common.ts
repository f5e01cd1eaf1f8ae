// Wire objects shared by several contracts, with Trove's underscore keys for databases and users.
import { z } from 'zod';

/** Trove's serialized MySQLSchema: `{_name, _character_set, _collate}`. */
export const wireDatabase = z.object({
  _name: z.string(),
  _character_set: z.string().nullish(),
  _collate: z.string().nullish(),
});

/** Trove's serialized MySQLUser: `{_name, _password, _host, _databases[], _is_root}`. */
export const wireUser = z.object({
  _name: z.string(),
  _password: z.string().nullish(),
  _host: z.string().nullish(),
  _databases: z.array(wireDatabase).default([]),
  _is_root: z.boolean().optional(),
});

export type WireDatabase = z.output<typeof wireDatabase>;
export type WireUser = z.output<typeof wireUser>;

/** What a backup is, as the taskmanager hands it to the guest (Trove's backup_info). */
export const backupInfo = z.object({
  id: z.string(),
  name: z.string().nullish(),
  description: z.string().nullish(),
  instance_id: z.string(),
  backup_type: z.string().nullish(),
  checksum: z.string().nullish(),
  location: z.string().nullish(),
  /** the backup an incremental one builds on */
  parent: z.object({ location: z.string(), checksum: z.string().nullish() }).nullish(),
  datastore: z.string().nullish(),
  datastore_version: z.string().nullish(),
  storage_driver: z.string().nullish(),
  swift_container: z.string().nullish(),
});

export type BackupInfo = z.output<typeof backupInfo>;

/** The backup a new instance is restored from (prepare's backup_info). */
export const restoreInfo = z.object({
  id: z.string(),
  instance_id: z.string().nullish(),
  location: z.string(),
  type: z.string(),
  checksum: z.string().nullish(),
  storage_driver: z.string().nullish(),
});

export type RestoreInfo = z.output<typeof restoreInfo>;

/** Trove's backup states. */
export const backupState = z.enum(['NEW', 'BUILDING', 'SAVING', 'COMPLETED', 'FAILED', 'DELETE_FAILED']);

/** A JSON object of free-form values (configuration overrides, cluster config, notifications). */
export const jsonObject = z.record(z.string(), z.unknown());

/** The result of a call that answers nothing (Python's None). */
export const nothing = z
  .null()
  .or(z.undefined())
  .transform(() => null);

/**
 * Where backups are stored and with whose rights: the user's Swift (its URL from the user's
 * catalog, the user's token: backups live in the user's own account, as in Trove), or the
 * all-in-one local object directory.
 */
export const backupStorage = z.object({
  driver: z.enum(['swift', 'local']),
  url: z.string().nullish(),
  auth_token: z.string().nullish(),
});

export type BackupStorage = z.output<typeof backupStorage>;

/** An RPC API version: major.minor[.revision] (oslo's). */
export const rpcVersion = z.string().regex(/^\d{1,4}\.\d{1,4}(\.\d{1,4})?$/);

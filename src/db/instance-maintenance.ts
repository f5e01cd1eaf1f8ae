// Per instance maintenance settings (instance_maintenance, trove-ts extension): a weekly window,
// automatic minor version upgrades, the Keystone trust their pre-upgrade backups use, and what the
// last attempt gave. A taskmanager claims a window's upgrade with a compare-and-set on
// last_attempt_at, so two taskmanagers never start it twice.
import type { Db } from './connection.js';

const TABLE = 'instance_maintenance';

export type MaintenanceResult = 'UPGRADING' | 'SUCCEEDED' | 'FAILED';

export interface InstanceMaintenanceRecord {
  instance_id: string;
  tenant_id: string;
  window_start: number | null;
  window_duration: number | null;
  auto_minor_version_upgrade: boolean;
  storage_driver: 'local' | 'swift' | null;
  user_id: string | null;
  sealed_credential: string | null;
  last_attempt_at: Date | null;
  last_from_version: string | null;
  last_target_version: string | null;
  last_result: MaintenanceResult | null;
  last_fault: string | null;
  last_skip_reason: string | null;
  last_skip_at: Date | null;
}

type Row = Record<string, unknown>;
const asDate = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string | number | Date));
const asInt = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const asStr = <T extends string = string>(v: unknown): T | null => (v === null || v === undefined ? null : (String(v) as T));

function toRecord(r: Row): InstanceMaintenanceRecord {
  return {
    instance_id: String(r.instance_id),
    tenant_id: String(r.tenant_id),
    window_start: asInt(r.window_start),
    window_duration: asInt(r.window_duration),
    auto_minor_version_upgrade: Boolean(r.auto_minor_version_upgrade),
    storage_driver: asStr<'local' | 'swift'>(r.storage_driver),
    user_id: asStr(r.user_id),
    sealed_credential: asStr(r.sealed_credential),
    last_attempt_at: asDate(r.last_attempt_at),
    last_from_version: asStr(r.last_from_version),
    last_target_version: asStr(r.last_target_version),
    last_result: asStr<MaintenanceResult>(r.last_result),
    last_fault: asStr(r.last_fault),
    last_skip_reason: asStr(r.last_skip_reason),
    last_skip_at: asDate(r.last_skip_at),
  };
}

export async function getMaintenance(db: Db, instanceId: string): Promise<InstanceMaintenanceRecord | undefined> {
  const r = (await db(TABLE).where({ instance_id: instanceId }).first()) as Row | undefined;
  return r ? toRecord(r) : undefined;
}

export type MaintenancePatch = Partial<
  Pick<InstanceMaintenanceRecord, 'window_start' | 'window_duration' | 'auto_minor_version_upgrade' | 'storage_driver' | 'user_id' | 'sealed_credential'>
>;

/** Sets the given settings of the instance (the others kept), making its row if needed. */
export async function saveMaintenance(db: Db, instanceId: string, tenantId: string, given: MaintenancePatch, now = new Date()): Promise<void> {
  const patch = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  await db(TABLE)
    .insert({ instance_id: instanceId, tenant_id: tenantId, ...patch, created: now, updated: now })
    .onConflict('instance_id')
    .merge({ ...patch, updated: now });
}

/** The settings of live instances with automatic upgrades on and a window. */
export async function autoUpgradeCandidates(db: Db): Promise<InstanceMaintenanceRecord[]> {
  const rows = await db(`${TABLE} as m`)
    .join('instances as i', 'i.id', 'm.instance_id')
    .where('i.deleted', false)
    .where('m.auto_minor_version_upgrade', true)
    .whereNotNull('m.window_start')
    .select('m.*');
  return (rows as Row[]).map(toRecord);
}

/** Settings whose instance is deleted (their trust is to be deleted with them). */
export async function orphanedMaintenance(db: Db): Promise<InstanceMaintenanceRecord[]> {
  const rows = await db(`${TABLE} as m`)
    .leftJoin('instances as i', 'i.id', 'm.instance_id')
    .where((q) => q.whereNull('i.id').orWhere('i.deleted', true))
    .select('m.*');
  return (rows as Row[]).map(toRecord);
}

export async function deleteMaintenance(db: Db, instanceId: string): Promise<void> {
  await db(TABLE).where({ instance_id: instanceId }).delete();
}

/**
 * Claims the upgrade of the window that opened at `windowStart`: true for exactly one
 * taskmanager (the one that moved last_attempt_at into this window).
 */
export async function claimMaintenanceUpgrade(
  db: Db,
  instanceId: string,
  windowStart: Date,
  attempt: { at: Date; from: string; target: string },
): Promise<boolean> {
  const n = await db(TABLE)
    .where({ instance_id: instanceId, auto_minor_version_upgrade: true })
    .andWhere((q) => q.whereNull('last_attempt_at').orWhere('last_attempt_at', '<', windowStart))
    .update({
      last_attempt_at: attempt.at,
      last_from_version: attempt.from,
      last_target_version: attempt.target,
      last_result: 'UPGRADING',
      last_fault: null,
      last_skip_reason: null,
      last_skip_at: null,
      updated: attempt.at,
    });
  return n > 0;
}

/** What the claimed attempt gave (the upgrade flow's end, or a start that failed). */
export async function recordMaintenanceResult(db: Db, instanceId: string, result: MaintenanceResult, fault: string | null): Promise<void> {
  await db(TABLE).where({ instance_id: instanceId, last_result: 'UPGRADING' }).update({ last_result: result, last_fault: fault, updated: new Date() });
}

/** Why a pass inside the window started nothing. */
export async function recordMaintenanceSkip(db: Db, instanceId: string, reason: string, at: Date): Promise<void> {
  await db(TABLE)
    .where({ instance_id: instanceId })
    .update({ last_skip_reason: reason.slice(0, 255), last_skip_at: at, updated: new Date() });
}

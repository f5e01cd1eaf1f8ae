// Per instance alarm thresholds and storage autoscaling limit (instance_alarms, trove-ts extension).
import type { Db } from './connection.js';
import type { AlarmThresholds } from '../common/metrics/alarms.js';

const TABLE = 'instance_alarms';

export interface InstanceAlarmsRecord {
  instance_id: string;
  tenant_id: string;
  volume_used_percent: number | null;
  connections_percent: number | null;
  replication_lag_seconds: number | null;
  max_volume_size: number | null;
  last_autoscale_at: Date | null;
}

export type AlarmsPatch = Partial<Pick<InstanceAlarmsRecord, 'volume_used_percent' | 'connections_percent' | 'replication_lag_seconds' | 'max_volume_size'>>;

const asRecord = (r: Record<string, unknown>): InstanceAlarmsRecord => ({
  instance_id: String(r.instance_id),
  tenant_id: String(r.tenant_id),
  volume_used_percent: r.volume_used_percent === null ? null : Number(r.volume_used_percent),
  connections_percent: r.connections_percent === null ? null : Number(r.connections_percent),
  replication_lag_seconds: r.replication_lag_seconds === null ? null : Number(r.replication_lag_seconds),
  max_volume_size: r.max_volume_size === null ? null : Number(r.max_volume_size),
  last_autoscale_at: r.last_autoscale_at === null || r.last_autoscale_at === undefined ? null : new Date(r.last_autoscale_at as string | number | Date),
});

export async function getInstanceAlarms(db: Db, instanceId: string): Promise<InstanceAlarmsRecord | undefined> {
  const r = (await db(TABLE).where({ instance_id: instanceId }).first()) as Record<string, unknown> | undefined;
  return r ? asRecord(r) : undefined;
}

/** The instance's alarm thresholds: its own where it set them, else the defaults. */
export async function alarmThresholds(db: Db, instanceId: string, defaults: AlarmThresholds): Promise<AlarmThresholds> {
  const own = await getInstanceAlarms(db, instanceId);
  return {
    volume_used_percent: own?.volume_used_percent ?? defaults.volume_used_percent,
    connections_percent: own?.connections_percent ?? defaults.connections_percent,
    replication_lag_seconds: own?.replication_lag_seconds ?? defaults.replication_lag_seconds,
  };
}

/** Sets the given thresholds/limit of the instance (the others kept), making its row if needed. */
export async function saveInstanceAlarms(db: Db, instanceId: string, tenantId: string, given: AlarmsPatch, now = new Date()): Promise<void> {
  const patch = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  await db(TABLE)
    .insert({ instance_id: instanceId, tenant_id: tenantId, ...patch, created: now, updated: now })
    .onConflict('instance_id')
    .merge({ ...patch, updated: now });
}

/**
 * The instances storage autoscaling looks at: a max_volume_size above the volume's size, ACTIVE
 * with no task, a reported volume use, and no growth since `cooledBefore`.
 */
export async function autoscaleCandidates(
  db: Db,
  cooledBefore: Date,
): Promise<Array<{ id: string; tenant_id: string; volume_size: number; volume_used: number; max_volume_size: number; last_autoscale_at: Date | null }>> {
  const rows = await db(`${TABLE} as a`)
    .join('instances as i', 'i.id', 'a.instance_id')
    .where('i.deleted', false)
    .whereNotNull('a.max_volume_size')
    .whereNotNull('i.volume_used')
    .whereRaw('a.max_volume_size > i.volume_size')
    .where((q) => q.whereNull('a.last_autoscale_at').orWhere('a.last_autoscale_at', '<', cooledBefore))
    .select('i.id', 'i.tenant_id', 'i.volume_size', 'i.volume_used', 'a.max_volume_size', 'a.last_autoscale_at');
  return rows.map((r: Record<string, unknown>) => ({
    id: String(r.id),
    tenant_id: String(r.tenant_id),
    volume_size: Number(r.volume_size),
    volume_used: Number(r.volume_used),
    max_volume_size: Number(r.max_volume_size),
    last_autoscale_at: r.last_autoscale_at ? new Date(r.last_autoscale_at as string) : null,
  }));
}

/** Claims the instance's growth: true for the one taskmanager whose compare-and-set on last_autoscale_at won. */
export async function claimAutoscale(db: Db, instanceId: string, seen: Date | null, now = new Date()): Promise<boolean> {
  const q = db(TABLE).where({ instance_id: instanceId });
  if (seen === null) q.whereNull('last_autoscale_at');
  else q.where('last_autoscale_at', seen);
  return (await q.update({ last_autoscale_at: now, updated: now })) === 1;
}

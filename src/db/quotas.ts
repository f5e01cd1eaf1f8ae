// Per-project quota limits (defaults from config, overrides in `quotas`) and usages.
import { randomUUID } from 'node:crypto';
import type { Db } from './connection.js';
import { lockForUpdate } from './dialect.js';

export const QUOTA_RESOURCES = ['instances', 'ram', 'volumes', 'backups'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];
export type QuotaLimits = Record<QuotaResource, number>;

export interface QuotaRow {
  resource: QuotaResource;
  limit: number;
  in_use: number;
  reserved: number;
}

export function isQuotaResource(name: string): name is QuotaResource {
  return (QUOTA_RESOURCES as readonly string[]).includes(name);
}

export async function quotaLimits(db: Db, projectId: string, defaults: QuotaLimits): Promise<QuotaLimits> {
  const limits = { ...defaults };
  const rows = await db('quotas').where({ tenant_id: projectId }).select('resource', 'hard_limit');
  for (const r of rows as Array<{ resource: string; hard_limit: number | null }>) {
    if (isQuotaResource(r.resource) && r.hard_limit !== null) limits[r.resource] = r.hard_limit;
  }
  return limits;
}

export async function quotaUsages(db: Db, projectId: string, defaults: QuotaLimits): Promise<QuotaRow[]> {
  const limits = await quotaLimits(db, projectId, defaults);
  const usages = await db('quota_usages').where({ tenant_id: projectId }).select('resource', 'in_use', 'reserved');
  const byResource = new Map((usages as Array<{ resource: string; in_use: number; reserved: number }>).map((u) => [u.resource, u]));
  return QUOTA_RESOURCES.map((resource) => ({
    resource,
    limit: limits[resource],
    in_use: byResource.get(resource)?.in_use ?? 0,
    reserved: byResource.get(resource)?.reserved ?? 0,
  }));
}

/** Sets hard limits; returns the ones that changed. */
export async function setQuotaLimits(db: Db, projectId: string, updates: Partial<QuotaLimits>): Promise<Partial<QuotaLimits>> {
  const now = new Date();
  await db.transaction(async (trx) => {
    for (const [resource, limit] of Object.entries(updates)) {
      const existing = await trx('quotas').where({ tenant_id: projectId, resource }).first();
      if (existing) {
        await trx('quotas').where({ id: existing.id }).update({ hard_limit: limit, updated: now });
      } else {
        await trx('quotas').insert({ id: randomUUID(), tenant_id: projectId, resource, hard_limit: limit, created: now, updated: now });
      }
    }
  });
  return updates;
}

export type QuotaDeltas = Partial<Record<QuotaResource, number>>;

/** Creates the usage rows the deltas touch, outside any transaction (so locking reads find them). */
export async function ensureUsageRows(db: Db, projectId: string, deltas: QuotaDeltas): Promise<void> {
  const now = new Date();
  // the rows that exist are read without a lock: an INSERT IGNORE on an existing row takes a shared
  // lock on it, which applyUsage's FOR UPDATE then upgrades, and two such transactions (two backup
  // deletes of a project) deadlock on the upgrade
  const present = new Set(
    (await db('quota_usages').where({ tenant_id: projectId }).whereIn('resource', Object.keys(deltas)).select('resource')).map(
      (r: { resource: string }) => r.resource,
    ),
  );
  for (const resource of Object.keys(deltas).filter((r) => !present.has(r))) {
    await db('quota_usages')
      .insert({ id: randomUUID(), tenant_id: projectId, resource, in_use: 0, reserved: 0, created: now, updated: now })
      .onConflict(['tenant_id', 'resource'])
      .ignore();
  }
}

/**
 * Checks the deltas against the project's limits and adds them to in_use, under row locks, in the
 * caller's transaction (so the instance row and its usage commit together). Negative deltas
 * release. Call ensureUsageRows first. Returns the resources that would go over their limit
 * (nothing is written then).
 */
export async function applyUsage(trx: import('knex').Knex.Transaction, projectId: string, deltas: QuotaDeltas, limits: QuotaLimits): Promise<QuotaResource[]> {
  const entries = (Object.entries(deltas).filter(([, d]) => d !== 0) as Array<[QuotaResource, number]>).sort(([a], [b]) => a.localeCompare(b));
  const over: QuotaResource[] = [];
  const rows = new Map<string, { id: string; in_use: number }>();
  for (const [resource, delta] of entries) {
    const row = await lockForUpdate(trx, trx('quota_usages').where({ tenant_id: projectId, resource })).first('id', 'in_use');
    if (!row) throw new Error(`no quota usage row for ${resource}: call ensureUsageRows first`);
    rows.set(resource, row);
    const limit = limits[resource];
    if (delta > 0 && limit >= 0 && row.in_use + delta > limit) over.push(resource);
  }
  if (over.length) return over;
  const now = new Date();
  for (const [resource, delta] of entries) {
    const row = rows.get(resource)!;
    await trx('quota_usages')
      .where({ id: row.id })
      .update({ in_use: Math.max(0, row.in_use + delta), updated: now });
  }
  return [];
}

/** ensureUsageRows + applyUsage in a transaction of its own. */
export async function changeUsage(db: Db, projectId: string, deltas: QuotaDeltas, limits: QuotaLimits): Promise<QuotaResource[]> {
  await ensureUsageRows(db, projectId, deltas);
  return db.transaction((trx) => applyUsage(trx, projectId, deltas, limits));
}

/** No limit on any resource (for releases, and for usage the service itself records). */
export const UNLIMITED: QuotaLimits = { instances: -1, ram: -1, volumes: -1, backups: -1 };

/** Gives back usage taken with changeUsage (a release is never over a limit). */
export async function giveBack(db: Db, projectId: string, taken: QuotaDeltas): Promise<void> {
  const back = Object.fromEntries(Object.entries(taken).map(([resource, d]) => [resource, -(d ?? 0)])) as QuotaDeltas;
  await changeUsage(db, projectId, back, UNLIMITED);
}

/** The RAM a flavor resize takes when it is asked for: the growth (a shrink is given back when
 * the resize is done). The API takes it; a resize that fails before the flavor changed gives it back. */
export function resizeRamReserved(oldRam: number | undefined, newRam: number): number {
  return Math.max(0, newRam - (oldRam ?? 0));
}

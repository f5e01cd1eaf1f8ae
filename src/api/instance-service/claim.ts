// What an operation holds between its take and its casts: the instances (their task, or new rows)
// and the quota their work needs, each member's part apart so that a member the taskmanager was
// told about keeps its part and the others give theirs back.
import type { Logger } from '../../common/log.js';
import type { Db } from '../../db/connection.js';
import type { QuotaDeltas, QuotaLimits, QuotaResource } from '../../db/quotas.js';

/** What the service needs: the control database, a log and the default quotas (ApiDeps has them). */
export interface InstanceServiceDeps {
  db: Db;
  log: Logger;
  quotaDefaults: QuotaLimits;
}

/** One instance of an operation and the quota its work takes (a resize's RAM or GB, a new instance's all). */
export interface Member {
  id: string;
  usage?: QuotaDeltas;
}

export interface Claim {
  /** The members, the instance the request names first. */
  readonly ids: string[];
  /** Takes the members and their quota; raises Trove's 422 or 413 having kept nothing. */
  take(): Promise<void>;
  /** Gives back the members not told yet (`untold`) and their quota; `cause` is the failure. */
  release(untold: string[], cause: unknown): Promise<void>;
}

/** The members' usage added up (only `ids` when given). */
export function usageOf(members: Member[], ids?: string[]): QuotaDeltas {
  const total: QuotaDeltas = {};
  for (const m of members) {
    if (ids && !ids.includes(m.id)) continue;
    for (const [resource, d] of Object.entries(m.usage ?? {}) as Array<[QuotaResource, number]>) total[resource] = (total[resource] ?? 0) + d;
  }
  return total;
}

export const takesQuota = (usage: QuotaDeltas): boolean => Object.values(usage).some((d) => d !== 0);

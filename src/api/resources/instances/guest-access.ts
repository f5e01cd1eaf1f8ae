// What the databases, users and root routes need before they ask a guest: the caller's instance,
// its engine running (Trove's 422 otherwise), the guest's stub and the datastore's name rules.
import type { Context } from 'koa';
import { BadRequestError, UnprocessableEntityError } from '../../../common/errors.js';
import { Tasks } from '../../../common/instance-tasks.js';
import { ServiceStatuses, serviceStatusFromCode } from '../../../common/service-status.js';
import type { InstanceRecord } from '../../../db/instances.js';
import { getVersionById } from '../../../db/datastores.js';
import type { CallOptions } from '../../../rpc/contract.js';
import type { DatastoreNames } from '../../config.js';
import type { ApiDeps, GuestApi } from '../../deps.js';
import { loadInstance } from './lookup.js';

export interface GuestTarget {
  row: InstanceRecord;
  guest: GuestApi;
  names: DatastoreNames;
  /** Options for a quick guest call (agent_call_low_timeout). */
  quick: CallOptions;
}

const RUNNING = new Set<number>([ServiceStatuses.RUNNING.code, ServiceStatuses.HEALTHY.code, ServiceStatuses.RESTART_REQUIRED.code]);

export async function guestTarget(ctx: Context, deps: ApiDeps, id: string): Promise<GuestTarget> {
  const row = await loadInstance(ctx, deps, id);
  const busy = row.task_id === Tasks.BUILDING.code || row.task_id === Tasks.DELETING.code;
  if (busy || !RUNNING.has(row.service_status_id ?? -1)) {
    throw new UnprocessableEntityError(`Instance ${row.id} is not ready, status: ${serviceStatusFromCode(row.service_status_id).api}.`);
  }
  const version = await getVersionById(deps.db, row.datastore_version_id);
  return {
    row,
    guest: deps.guest(row.id, row.encrypted_key),
    names: deps.datastoreNames(version?.manager ?? ''),
    quick: { timeoutMs: deps.config.agent_call_low_timeout * 1000 },
  };
}

// ---- names, checked here before any guest sees them (the guest then applies the engine's own rules)

const CONTROL = /[\x00-\x1f\x7f]/;

export function checkDatabaseName(name: string, names: DatastoreNames): void {
  if (CONTROL.test(name) || /[/\\.`'"]/.test(name) || name !== name.trim()) {
    throw new BadRequestError(`'${printable(name)}' is not a valid database name.`);
  }
  if (names.ignore_dbs.some((d) => d.toLowerCase() === name.toLowerCase())) throw new BadRequestError(`'${name}' is a reserved database name.`);
}

export function checkUserName(name: string, names: DatastoreNames): void {
  if (CONTROL.test(name) || /[@`'"\\]/.test(name) || name !== name.trim()) {
    throw new BadRequestError(`'${printable(name)}' is not a valid user name.`);
  }
  if (names.ignore_users.some((u) => u.toLowerCase() === name.toLowerCase())) throw new BadRequestError(`'${name}' is a reserved user name.`);
}

export function checkHost(host: string): void {
  if (!/^[A-Za-z0-9%_.:\-/]{1,255}$/.test(host)) throw new BadRequestError(`'${printable(host)}' is not a valid host.`);
}

export function checkPassword(password: string): void {
  if (CONTROL.test(password)) throw new BadRequestError('A password must not contain control characters.');
}

function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** `{u}` in a users URL: `name` or `name@host` (host defaults to '%'). */
export function parseUserId(raw: string): { name: string; host: string } {
  const at = raw.lastIndexOf('@');
  if (at <= 0) return { name: raw, host: '%' };
  return { name: raw.slice(0, at), host: raw.slice(at + 1) || '%' };
}

// The taskmanager's resumable flows and their leases, kept on the instance's row: flow_state (the
// flow, its next step and its data, as JSON), flow_owner (the taskmanager running it) and
// flow_lease_until (when another taskmanager may take it over). Every write that could race
// another taskmanager is a compare-and-set on these columns.
import type { Db } from './connection.js';

export interface FlowState<D> {
  flow: string;
  step: number;
  data: D;
  /** Epoch ms after which the flow fails with a timeout. */
  deadline: number;
}

/** Records a flow for the instance, replacing whatever was recorded. */
export async function recordFlow<D>(db: Db, instanceId: string, state: FlowState<D>): Promise<void> {
  await db('instances')
    .where({ id: instanceId })
    .update({ flow_state: JSON.stringify(state) });
}

/** Records a flow unless one is recorded already (compare-and-set): true if this call recorded it. */
export async function recordFlowUnlessHeld<D>(db: Db, instanceId: string, state: FlowState<D>): Promise<boolean> {
  const n = await db('instances')
    .where({ id: instanceId })
    .whereNull('flow_state')
    .update({ flow_state: JSON.stringify(state) });
  return n > 0;
}

/** The instances with a recorded flow whose lease is free or expired at `now`. */
export async function flowsToResume(db: Db, now = new Date()): Promise<string[]> {
  const rows = (await db('instances')
    .whereNotNull('flow_state')
    .andWhere((q) => q.whereNull('flow_lease_until').orWhere('flow_lease_until', '<', now))
    .select('id')) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

/**
 * Takes (or renews) the lease on the instance's flow for `owner` until `until`, if a flow is
 * recorded and its lease is free, expired or already `owner`'s: false when another holds it.
 */
export async function claimLease(db: Db, instanceId: string, owner: string, until: Date, now = new Date()): Promise<boolean> {
  const n = await db('instances')
    .where({ id: instanceId })
    .whereNotNull('flow_state')
    .andWhere((q) => q.whereNull('flow_lease_until').orWhere('flow_lease_until', '<', now).orWhere('flow_owner', owner))
    .update({ flow_owner: owner, flow_lease_until: until });
  return n > 0;
}

/** The flow recorded for the instance, if any. */
export async function recordedFlow(db: Db, instanceId: string): Promise<FlowState<unknown> | undefined> {
  const row = (await db('instances').where({ id: instanceId }).first('flow_state')) as { flow_state: string | null } | undefined;
  return row?.flow_state ? (JSON.parse(row.flow_state) as FlowState<unknown>) : undefined;
}

/** Saves the flow's progress, only while `owner` still holds it (a taskmanager that lost the lease writes nothing). */
export async function saveFlow<D>(db: Db, instanceId: string, owner: string, state: FlowState<D>): Promise<void> {
  await db('instances')
    .where({ id: instanceId, flow_owner: owner })
    .update({ flow_state: JSON.stringify(state) });
}

/** The flow is over: its state and lease are cleared. */
export async function endFlow(db: Db, instanceId: string): Promise<void> {
  await db('instances').where({ id: instanceId }).update({ flow_state: null, flow_owner: null, flow_lease_until: null });
}

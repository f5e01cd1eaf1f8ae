// Replica sets through the API of a control plane (control-plane.ts), as a user builds and runs
// one: a source, N replicas made with replica_of, promote_to_replica_source, the source's servers
// killed and eject_replica_source once its heartbeat is stale, detach (replica_of: null). Each step
// waits for the instances to settle and fails naming what it saw; replicaSetWalk is the whole walk
// with what each step must leave true, for any engine the test gives a way to write and read.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import type { AxiosResponse } from 'axios';
import { waitForInstance, type ControlPlane } from './control-plane.js';

export type Instance = Record<string, any>;

export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** ACTIVE and HEALTHY, or ERROR: an instance a test can go on with. */
export const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';

export const ipOf = (i: Record<string, unknown> | undefined) => (i!.ip as string[])[0]!;

/** Whether `fn` comes true within `ms` (an error counts as not yet). */
export async function eventually(fn: () => Promise<boolean>, ms = 30_000, every = 300): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(every)) if (await fn().catch(() => false)) return true;
  return false;
}

export const show = async (cp: ControlPlane, id: string): Promise<Instance> => (await cp.http.get(`/instances/${id}`)).data.instance;

/** Waits for `id` to settle; an error unless it is ACTIVE (its fault in the message). */
async function active(cp: ControlPlane, id: string, ms: number): Promise<Instance> {
  const i = await waitForInstance(cp.http, id, ready, ms);
  if (i?.status !== 'ACTIVE') throw new Error(`instance ${id} is ${String(i?.status)}: ${JSON.stringify(i?.fault)}`);
  return i;
}

/** POST /instances with `instance` (a source: flavor, volume, datastore, databases, users); the ACTIVE instance. */
export async function createSource(cp: ControlPlane, instance: Record<string, unknown>, ms = 180_000): Promise<Instance> {
  const r = await cp.http.post('/instances', { instance: { flavorRef: '1', volume: { size: 1 }, ...instance } });
  if (r.status !== 200) throw new Error(`create ${String(instance.name)}: ${r.status} ${JSON.stringify(r.data)}`);
  return active(cp, r.data.instance.id, ms);
}

/** `count` replicas of the source named <name>-1.. (Trove's names for replica_count), ACTIVE and replicas of it; their ids in order. */
export async function createReplicas(cp: ControlPlane, sourceId: string, name: string, count: number, ms = 180_000): Promise<string[]> {
  const r = await cp.http.post('/instances', { instance: { name, replica_of: sourceId, replica_count: count } });
  if (r.status !== 200) throw new Error(`replicas of ${sourceId}: ${r.status} ${JSON.stringify(r.data)}`);
  const list = (await cp.http.get('/instances')).data.instances as Array<{ id: string; name: string }>;
  const ids = Array.from({ length: count }, (_, i) => list.find((x) => x.name === `${name}-${i + 1}`)?.id);
  if (ids.some((id) => !id)) throw new Error(`replicas ${name}-1..${count} are not all listed: ${JSON.stringify(list.map((x) => x.name))}`);
  for (const id of ids) {
    const rep = await active(cp, id!, ms);
    if (rep.replica_of?.id !== sourceId) throw new Error(`${id} is not a replica of ${sourceId}: ${JSON.stringify(rep.replica_of)}`);
  }
  return ids as string[];
}

/** promote_to_replica_source on `id` (202), then every member of the set ACTIVE again. */
export async function promoteToSource(cp: ControlPlane, id: string, members: string[], ms = 180_000): Promise<void> {
  const p = await cp.http.post(`/instances/${id}/action`, { promote_to_replica_source: {} });
  if (p.status !== 202) throw new Error(`promote ${id}: ${p.status} ${JSON.stringify(p.data)}`);
  for (const m of members) await active(cp, m, ms);
}

/** The instance's guest agent and engine killed, by the pids the local compute driver records: a source that died. */
export function killServer(cp: ControlPlane, id: string): void {
  const dir = path.join(cp.stateDir, 'servers', id);
  const agentDir = path.join(dir, 'agent');
  const pids = [
    Number(readFileSync(path.join(dir, 'agent.pid'), 'utf8')),
    ...(existsSync(agentDir)
      ? readdirSync(agentDir)
          .filter((f) => f.endsWith('.pid'))
          .map((f) => Number(readFileSync(path.join(agentDir, f), 'utf8')))
      : []),
  ];
  for (const pid of pids.filter(Boolean)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** eject_replica_source on the dead source, again while it answers 400 (its heartbeat still recent); the last answer. */
export async function ejectSource(cp: ControlPlane, id: string, ms = 60_000): Promise<AxiosResponse> {
  let ejected = await cp.http.post(`/instances/${id}/action`, { eject_replica_source: {} });
  for (const until = Date.now() + ms; ejected.status === 400 && Date.now() < until; await sleep(1000)) {
    ejected = await cp.http.post(`/instances/${id}/action`, { eject_replica_source: {} });
  }
  return ejected;
}

/** After an eject: the members once all are ACTIVE and HEALTHY and one replicates from nothing (the new source), and the others. */
export async function newSourceOf(cp: ControlPlane, members: string[], ms = 120_000): Promise<{ newSource: Instance; followers: Instance[] }> {
  let shown: Instance[] = [];
  for (const until = Date.now() + ms; Date.now() < until; await sleep(1000)) {
    shown = await Promise.all(members.map((m) => show(cp, m)));
    if (shown.every((i) => i.status === 'ACTIVE' && i.operating_status === 'HEALTHY') && shown.some((i) => !i.replica_of)) break;
  }
  const newSource = shown.find((i) => !i.replica_of);
  if (!newSource) throw new Error(`no new source: ${JSON.stringify(shown.map((i) => [i.id, i.status, i.replica_of, i.fault]))}`);
  return { newSource, followers: shown.filter((i) => i !== newSource) };
}

/** PUT replica_of: null (202), then the instance ACTIVE with no replica_of. */
export async function detach(cp: ControlPlane, id: string, ms = 120_000): Promise<Instance> {
  const d = await cp.http.put(`/instances/${id}`, { instance: { replica_of: null } });
  if (d.status !== 202) throw new Error(`detach ${id}: ${d.status} ${JSON.stringify(d.data)}`);
  const done = await waitForInstance(cp.http, id, (i) => (i?.status === 'ACTIVE' && !('replica_of' in i)) || i?.status === 'ERROR', ms);
  if (done?.status !== 'ACTIVE') throw new Error(`detach ${id}: ${JSON.stringify(done?.fault)}`);
  return done;
}

/** How the walk writes and reads a key on a member, for one engine. */
export interface MemberAccess {
  /** Writes `key` as a user (refused on a replica). */
  write(id: string, key: string): Promise<void>;
  has(id: string, key: string): Promise<boolean>;
  /** What a replica's refusal of a user's write says. */
  readOnly: RegExp;
  /** Each new replica once ACTIVE, before it is read (e.g. its own root enabled). */
  onReplica?(id: string): Promise<void>;
}

/**
 * A source holding `firstKey` (written by the test): two replicas (<name>-1, -2) have it and follow
 * new writes, refuse a user's; promote switches the set to the first (the old source and the other
 * follow it, the old source refuses writes); that source dies and eject makes the most current
 * member the source, with the last key, the other following it; detach makes that one writable
 * and independent.
 */
export async function replicaSetWalk(t: ExecutionContext, cp: ControlPlane, sourceId: string, name: string, firstKey: string, m: MemberAccess): Promise<void> {
  const [a, b] = (await createReplicas(cp, sourceId, name, 2)) as [string, string];
  for (const id of [a, b]) {
    await m.onReplica?.(id);
    t.true(await m.has(id, firstKey), `${id} has what the source held`);
  }
  await m.write(sourceId, 'after');
  for (const id of [a, b]) t.true(await eventually(() => m.has(id, 'after')), 'a new key on the source arrives');
  await t.throwsAsync(m.write(a, 'no'), { message: m.readOnly });

  // switchover to a
  await promoteToSource(cp, a, [a, b, sourceId]);
  t.false('replica_of' in (await show(cp, a)));
  t.is((await show(cp, sourceId)).replica_of?.id, a);
  t.is((await show(cp, b)).replica_of?.id, a);
  await m.write(a, 'on-new-source');
  for (const id of [sourceId, b]) t.true(await eventually(() => m.has(id, 'on-new-source')), 'the others follow the new source');
  await t.throwsAsync(m.write(sourceId, 'no'), { message: m.readOnly });
  t.true(await m.has(sourceId, firstKey));

  // failover: a dies
  await m.write(a, 'before-death');
  for (const id of [sourceId, b]) t.true(await eventually(() => m.has(id, 'before-death')), 'every member has the last key before the source dies');
  killServer(cp, a);
  const ejected = await ejectSource(cp, a);
  t.is(ejected.status, 202, JSON.stringify(ejected.data));
  const { newSource, followers } = await newSourceOf(cp, [sourceId, b]);
  const [follower] = followers as [Instance];
  t.is(follower.replica_of?.id, newSource.id);
  t.true(await m.has(newSource.id, 'before-death'));
  await m.write(newSource.id, 'after-eject');
  t.true(await eventually(() => m.has(follower.id, 'after-eject')), 'the other member follows the new source');

  // detach the follower: writable, independent
  await detach(cp, follower.id);
  await m.write(follower.id, 'mine');
  await m.write(newSource.id, 'not-for-it');
  await sleep(1500);
  t.false(await m.has(follower.id, 'not-for-it'));
}

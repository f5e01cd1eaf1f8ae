// The switchover flow (promote_to_replica_source) with recorded guests: Trove's order of guest
// calls, the replica links in the database afterwards, an undo when the switch cannot happen, and
// a member that cannot be moved left PROMOTION_ERROR with a fault.
import test from 'ava';
import { Tasks } from '../../common/instance-tasks.js';
import { taskmanagerHandlers } from '../manager.js';
import { fault, fixture, instance, settle, type Fixture } from '../../../test/helpers/taskmanager-fixture.js';

async function replicaSet(f: Fixture): Promise<{ old: string; candidate: string; other: string }> {
  const old = await instance(f, { task: Tasks.PROMOTING.code });
  const candidate = await instance(f, { slaveOf: old, task: Tasks.PROMOTING.code });
  const other = await instance(f, { slaveOf: old, task: Tasks.PROMOTING.code });
  f.guest.get_last_txn = async () => ({ txn: '0-1-42' });
  return { old, candidate, other };
}

const slaveOf = async (f: Fixture, id: string) => (await f.tdb.db('instances').where({ id }).first('slave_of_id')).slave_of_id as string | null;
const task = async (f: Fixture, id: string) => (await f.tdb.db('instances').where({ id }).first('task_id')).task_id as number;

test('switchover: old source read-only, candidate catches up and takes writes, the other replica and then the old source follow it', async (t) => {
  const f = await fixture(t);
  const { old, candidate, other } = await replicaSet(f);
  await taskmanagerHandlers(f.ctx).promote_to_replica_source({ instance_id: candidate }, {} as never);
  await settle(f, candidate);
  const name = (id: string) => (id === old ? 'old' : id === candidate ? 'candidate' : id === other ? 'other' : id);
  t.deepEqual(
    f.calls.map((c) => `${name(c.instance)} ${c.verb}`),
    [
      'old make_read_only',
      'old get_last_txn',
      'candidate wait_for_txn',
      'candidate detach_replica',
      'candidate enable_as_master',
      'candidate make_read_only',
      'other detach_replica',
      'candidate get_replication_snapshot',
      'other attach_replica',
      'old cleanup_source_on_replica_detach',
      'old cleanup_source_on_replica_detach',
      'candidate get_replication_snapshot',
      'old attach_replica',
    ],
  );
  t.deepEqual(f.calls[0]!.args, { read_only: true });
  t.is(f.calls[2]!.args.txn, '0-1-42');
  t.deepEqual(f.calls[5]!.args, { read_only: false });
  t.deepEqual(f.calls[8]!.args.replica_info.master, { host: '10.0.0.5', port: 3306, user: 'repl_x', password: 'Repl-S3cret-pw-91' });
  t.true(f.calls[8]!.args.restart);
  t.false(f.calls[12]!.args.restart);
  t.is(await slaveOf(f, candidate), null);
  t.is(await slaveOf(f, other), candidate);
  t.is(await slaveOf(f, old), candidate);
  for (const id of [old, candidate, other]) t.is(await task(f, id), Tasks.NONE.code);
});

test('the candidate cannot catch up: the old source is writable again, nothing moved, the candidate PROMOTION_ERROR with a fault', async (t) => {
  const f = await fixture(t);
  const { old, candidate, other } = await replicaSet(f);
  f.guest.wait_for_txn = async () => {
    throw new Error('not caught up in 180 s');
  };
  await taskmanagerHandlers(f.ctx).promote_to_replica_source({ instance_id: candidate }, {} as never);
  await settle(f, candidate);
  const last = f.calls.at(-1)!;
  t.is(last.instance, old);
  t.deepEqual([last.verb, last.args], ['make_read_only', { read_only: false }]);
  t.false(f.calls.some((c) => c.verb === 'enable_as_master' || c.verb === 'attach_replica'));
  t.is(await slaveOf(f, candidate), old);
  t.is(await slaveOf(f, other), old);
  t.is(await task(f, candidate), Tasks.PROMOTION_ERROR.code);
  t.is(await task(f, old), Tasks.NONE.code);
  t.is(await task(f, other), Tasks.NONE.code);
  t.regex((await fault(f, candidate))!, /failed in step catch_up: not caught up/);
});

test('a replica that cannot be moved: the switch stands, that replica PROMOTION_ERROR with a fault, the others NONE', async (t) => {
  const f = await fixture(t);
  const { old, candidate, other } = await replicaSet(f);
  f.guest.attach_replica = async (instance) => {
    if (instance === other) throw new Error('cannot connect');
    return null;
  };
  await taskmanagerHandlers(f.ctx).promote_to_replica_source({ instance_id: candidate }, {} as never);
  await settle(f, candidate);
  t.is(await slaveOf(f, candidate), null);
  t.is(await slaveOf(f, old), candidate);
  t.is(await task(f, other), Tasks.PROMOTION_ERROR.code);
  t.regex((await fault(f, other))!, /could not be switched to it: cannot connect/);
  t.is(await task(f, candidate), Tasks.NONE.code);
  t.is(await task(f, old), Tasks.NONE.code);
});

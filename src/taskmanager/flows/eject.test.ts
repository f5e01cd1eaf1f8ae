// The failover flow (eject_replica_source) with recorded guests: the most current replica is the
// one holding every other replica's last transaction; it becomes the source and the other
// replicas follow it; the dead source is never called; diverged replicas leave the set as it was.
import test from 'ava';
import { Tasks } from '../../common/instance-tasks.js';
import { taskmanagerHandlers } from '../manager.js';
import { fault, fixture, instance, settle, type Fixture } from '../../../test/helpers/taskmanager-fixture.js';

async function deadSourceSet(f: Fixture): Promise<{ old: string; behind: string; ahead: string }> {
  const old = await instance(f, { task: Tasks.EJECTING.code });
  const behind = await instance(f, { slaveOf: old, task: Tasks.EJECTING.code });
  const ahead = await instance(f, { slaveOf: old, task: Tasks.EJECTING.code });
  // `ahead` applied transaction 7, `behind` only 5: only `ahead` holds the other's last one
  const applied: Record<string, number> = { [behind]: 5, [ahead]: 7 };
  f.guest.get_last_txn = async (i) => ({ txn: `0-1-${applied[i]}` });
  f.guest.wait_for_txn = async (i, a) => {
    if (Number(String(a.txn).split('-')[2]) > applied[i]!) throw new Error('timed out');
    return null;
  };
  return { old, behind, ahead };
}

const slaveOf = async (f: Fixture, id: string) => (await f.tdb.db('instances').where({ id }).first('slave_of_id')).slave_of_id as string | null;
const task = async (f: Fixture, id: string) => (await f.tdb.db('instances').where({ id }).first('task_id')).task_id as number;

test('failover: the most current replica becomes the source, the other follows it, the dead source is left alone', async (t) => {
  const f = await fixture(t);
  const { old, behind, ahead } = await deadSourceSet(f);
  await taskmanagerHandlers(f.ctx).eject_replica_source({ instance_id: old }, {} as never);
  await settle(f, old);
  t.false(
    f.calls.some((c) => c.instance === old),
    'the dead source is not called',
  );
  const enabled = f.calls.filter((c) => c.verb === 'enable_as_master');
  t.deepEqual(
    enabled.map((c) => c.instance),
    [ahead],
  );
  const attach = f.calls.find((c) => c.verb === 'attach_replica')!;
  t.is(attach.instance, behind);
  t.is(await slaveOf(f, ahead), null);
  t.is(await slaveOf(f, behind), ahead);
  for (const id of [old, behind, ahead]) t.is(await task(f, id), Tasks.NONE.code);
});

test('replicas that diverged: nobody is switched, the old source EJECTION_ERROR with a fault, the replicas NONE', async (t) => {
  const f = await fixture(t);
  const { old, behind, ahead } = await deadSourceSet(f);
  f.guest.wait_for_txn = async () => {
    throw new Error('timed out');
  };
  await taskmanagerHandlers(f.ctx).eject_replica_source({ instance_id: old }, {} as never);
  await settle(f, old);
  t.false(f.calls.some((c) => c.verb === 'enable_as_master' || c.verb === 'attach_replica'));
  t.is(await slaveOf(f, behind), old);
  t.is(await slaveOf(f, ahead), old);
  t.is(await task(f, old), Tasks.EJECTION_ERROR.code);
  t.regex((await fault(f, old))!, /failed in step choose: .*diverged/);
  t.is(await task(f, behind), Tasks.NONE.code);
  t.is(await task(f, ahead), Tasks.NONE.code);
});

// The guest's replication verbs (Trove's get_replication_snapshot, detach_replica,
// cleanup_source_on_replica_detach; for switchover and failover make_read_only, get_last_txn,
// wait_for_txn, enable_as_master, attach_replica) and a replica's attach during prepare. The snapshot itself is
// a full backup taken by the ordinary backup flow after get_replication_snapshot: the engine only
// makes the replica's account on the source, attaches the restored copy to its source and
// detaches it. On a replica the verbs that change users, databases or root are refused: the
// engine is read-only and such changes come from the source through replication. An engine
// without the Replication capability answers NotSupportedError (Trove's 501).
import type { Logger } from '../src/common/log.js';
import type { Handlers } from '../src/rpc/contract.js';
import type { GuestContract } from '../src/rpc/contracts/guest.js';
import { InvalidValueError, NotSupportedError, type Engine, type Replication, type ReplicationMaster } from './capabilities.js';

type ReplicationVerbs =
  | 'get_replication_snapshot'
  | 'detach_replica'
  | 'cleanup_source_on_replica_detach'
  | 'make_read_only'
  | 'get_last_txn'
  | 'wait_for_txn'
  | 'enable_as_master'
  | 'attach_replica';

/** The verbs a replica refuses: what they change reaches it from its source. */
export const REPLICA_REFUSED_VERBS = [
  'create_database',
  'delete_database',
  'create_user',
  'delete_user',
  'change_passwords',
  'update_attributes',
  'grant_access',
  'revoke_access',
  'enable_root',
  'enable_root_with_password',
  'disable_root',
] as const;

export function replicationCapability(engine: Engine): Replication {
  if (!engine.replication) throw new NotSupportedError(`Replication is not supported for the '${engine.name}' datastore.`);
  return engine.replication;
}

export function replicationHandlers(engine: Engine, log: Logger): Pick<Handlers<GuestContract>, ReplicationVerbs> {
  return {
    get_replication_snapshot: async (a) => {
      const r = await replicationCapability(engine).prepareSource(a.snapshot_info.replica_id);
      log.info({ replica_id: a.snapshot_info.replica_id, user: r.user.name }, 'ready to be replicated from');
      return { port: r.port, replication_user: { name: r.user.name, password: r.user.password } };
    },
    detach_replica: async (a) => {
      await replicationCapability(engine).detach(a.for_failover);
      log.info({ for_failover: a.for_failover }, 'replica detached');
      return null;
    },
    cleanup_source_on_replica_detach: async (a) => {
      await replicationCapability(engine).removeReplica(a.replica_info.replica_id);
      return null;
    },
    make_read_only: async (a) => {
      await replicationCapability(engine).makeReadOnly(a.read_only);
      return null;
    },
    get_last_txn: async () => ({ txn: await replicationCapability(engine).lastTxn() }),
    wait_for_txn: async (a) => {
      await replicationCapability(engine).waitForTxn(a.txn, a.timeout);
      return null;
    },
    enable_as_master: async () => {
      await replicationCapability(engine).enableAsSource();
      return null;
    },
    attach_replica: async (a) => {
      // slave_config and restart are Trove's: this agent's replicas need neither (my.cnf is the same for every member)
      const master = a.replica_info.master;
      const started = Date.now();
      await replicationCapability(engine).follow(master);
      log.info({ host: master.host, port: master.port, attach_ms: Date.now() - started }, 'replicating from the new source');
      return null;
    },
  };
}

/** A replica's prepare, after the source's backup is restored and the engine runs: replicating and read-only, or it throws. */
export async function attachReplica(engine: Engine, master: ReplicationMaster, log: Logger): Promise<void> {
  const started = Date.now();
  await replicationCapability(engine).attach(master);
  log.info({ host: master.host, port: master.port, attach_ms: Date.now() - started }, 'replica replicating from its source');
}

const ROOT_VERBS: readonly string[] = ['enable_root', 'enable_root_with_password', 'disable_root'];

/** The admin verbs, with those that change users, databases or root refused while the engine is a replica. */
export function refuseWritesOnReplica<H extends Partial<Handlers<GuestContract>>>(engine: Engine, handlers: H): H {
  const out: Record<string, unknown> = { ...handlers };
  for (const verb of REPLICA_REFUSED_VERBS) {
    const handler = handlers[verb] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (!handler) continue;
    // an engine whose root is each member's own (not replicated) keeps it on a replica
    const local = Boolean(engine.replication?.localRoot) && ROOT_VERBS.includes(verb);
    out[verb] = async (...args: unknown[]) => {
      if (!local && (await engine.replication?.isReplica())) {
        throw new InvalidValueError(
          'This instance is a read-only replica: users, databases and root are changed on its replication source (or detach the replica first).',
        );
      }
      // a source stopped for a switchover: a change now would be missing from the new source
      if (await engine.replication?.isReadOnly?.()) {
        throw new InvalidValueError('This instance is read-only (its replication source is being switched): users, databases and root cannot be changed now.');
      }
      return handler(...args);
    };
  }
  return out as H;
}

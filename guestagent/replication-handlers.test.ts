// The replication verbs on an engine without the Replication capability answer NotSupportedError
// (Trove's 501), and so does a replica's prepare, before anything is started. Every engine has the
// capability now (MariaDB/MySQL, Redis, PostgreSQL: their replication tests run real servers), so
// the check takes an engine with the capability removed;
// on an engine whose replication says "replica", the user, database and root verbs are refused.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../src/common/log.js';
import type { RawConfig } from '../src/common/config/reader.js';
import type { Handlers, Stub } from '../src/rpc/contract.js';
import type { ConductorContract } from '../src/rpc/contracts/conductor.js';
import { guestContract, type GuestContract } from '../src/rpc/contracts/guest.js';
import { backupDefaults } from './backup/config.js';
import { InvalidValueError, NotSupportedError, type Engine } from './capabilities.js';
import { engineFor } from './engines/index.js';
import { guestHandlers, StatusReporter } from './manager.js';
import { refuseWritesOnReplica } from './replication-handlers.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const ctx = (method: string) => ({ context: {}, method });
let root: string;

test.before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'replication-handlers-'));
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

function handlersFor(manager: string, withoutReplication = false) {
  const raw: RawConfig = { DEFAULT: { guest_id: 'i-1' }, [manager]: { mount_point: path.join(root, manager, 'volume'), bin_dir: '/nonexistent' } };
  const engine = engineFor(manager, raw, path.join(root, manager), log);
  if (withoutReplication) delete (engine as { replication?: unknown }).replication;
  const conductor = { heartbeat: async () => undefined, report_usage: async () => undefined } as unknown as Stub<ConductorContract>;
  const options = { instanceId: 'i-1', engine, conductor, log, backupConfig: backupDefaults.parse({}) };
  return { engine, h: guestHandlers(options, new StatusReporter(options)) };
}

test('redis has the Replication capability (its verbs are tested on real servers), with root its own on each member', (t) => {
  t.true(handlersFor('redis').engine.replication?.localRoot);
});

test('postgresql has the Replication capability (engines/postgresql/replication.test.ts), root from the source', (t) => {
  const r = handlersFor('postgresql').engine.replication;
  t.truthy(r);
  t.falsy(r?.localRoot);
});

test('an engine whose root is local (not replicated) keeps the root verbs on a replica, not the others; not while read-only', async (t) => {
  let readOnly = false;
  const calls: string[] = [];
  const engine = { name: 'x', replication: { isReplica: async () => true, isReadOnly: async () => readOnly, localRoot: true } } as unknown as Engine;
  const admin: Pick<Handlers<GuestContract>, 'create_user' | 'enable_root'> = {
    create_user: async () => (calls.push('create_user'), null),
    enable_root: async () => (calls.push('enable_root'), { _name: 'default', _password: 'x' }) as never,
  };
  const h = refuseWritesOnReplica(engine, admin);
  await t.throwsAsync(h.create_user({ users: [] }, ctx('create_user')), { instanceOf: InvalidValueError, message: /read-only replica/ });
  await h.enable_root({}, ctx('enable_root'));
  readOnly = true;
  await t.throwsAsync(h.enable_root({}, ctx('enable_root')), { instanceOf: InvalidValueError, message: /read-only/ });
  t.deepEqual(calls, ['enable_root']);
});

for (const manager of ['postgresql']) {
  test(`${manager} without the capability: the replication verbs and a replica's prepare answer NotSupportedError`, async (t) => {
    const { engine, h } = handlersFor(manager, true);
    t.is(engine.replication, undefined);
    await t.throwsAsync(
      h.get_replication_snapshot(guestContract.get_replication_snapshot.args.parse({ snapshot_info: { replica_id: 'r-1' } }), ctx('get_replication_snapshot')),
      {
        instanceOf: NotSupportedError,
        message: new RegExp(`Replication is not supported for the '${manager}' datastore`),
      },
    );
    await t.throwsAsync(h.detach_replica(guestContract.detach_replica.args.parse({}), ctx('detach_replica')), { instanceOf: NotSupportedError });
    await t.throwsAsync(
      h.cleanup_source_on_replica_detach(
        guestContract.cleanup_source_on_replica_detach.args.parse({ replica_info: { replica_id: 'r-1' } }),
        ctx('cleanup_source_on_replica_detach'),
      ),
      { instanceOf: NotSupportedError },
    );
    const master = { host: '10.0.0.5', port: 1, user: 'u', password: 'p' };
    // switchover and failover
    await t.throwsAsync(h.make_read_only(guestContract.make_read_only.args.parse({ read_only: true }), ctx('make_read_only')), {
      instanceOf: NotSupportedError,
    });
    await t.throwsAsync(h.get_last_txn(guestContract.get_last_txn.args.parse({}), ctx('get_last_txn')), { instanceOf: NotSupportedError });
    await t.throwsAsync(h.wait_for_txn(guestContract.wait_for_txn.args.parse({ txn: '0-1-5' }), ctx('wait_for_txn')), { instanceOf: NotSupportedError });
    await t.throwsAsync(h.enable_as_master(guestContract.enable_as_master.args.parse({}), ctx('enable_as_master')), { instanceOf: NotSupportedError });
    await t.throwsAsync(h.attach_replica(guestContract.attach_replica.args.parse({ replica_info: { master } }), ctx('attach_replica')), {
      instanceOf: NotSupportedError,
      message: new RegExp(`Replication is not supported for the '${manager}' datastore`),
    });
    await t.throwsAsync(
      h.prepare(
        guestContract.prepare.args.parse({ memory_mb: 256, backup_info: { id: 'b', location: 'x', type: 'full' }, snapshot: { master } }),
        ctx('prepare'),
      ),
      { instanceOf: NotSupportedError },
    );
  });
}

test('on a replica the user, database and root verbs are refused; reads and a source pass through', async (t) => {
  let replica = true;
  const calls: string[] = [];
  const engine = { name: 'x', replication: { isReplica: async () => replica } } as unknown as Engine;
  const admin: Pick<Handlers<GuestContract>, 'create_user' | 'list_users' | 'disable_root'> = {
    create_user: async () => (calls.push('create_user'), null),
    list_users: async () => (calls.push('list_users'), [[], null]),
    disable_root: async () => (calls.push('disable_root'), null),
  };
  const h = refuseWritesOnReplica(engine, admin);
  await t.throwsAsync(h.create_user({ users: [] }, ctx('create_user')), { instanceOf: InvalidValueError, message: /read-only replica/ });
  await t.throwsAsync(h.disable_root({}, ctx('disable_root')), { instanceOf: InvalidValueError });
  t.deepEqual(await h.list_users({ include_marker: false }, ctx('list_users')), [[], null]);
  t.deepEqual(calls, ['list_users']);
  replica = false;
  await h.create_user({ users: [] }, ctx('create_user'));
  t.deepEqual(calls, ['list_users', 'create_user']);
});

test('on a source made read-only for a switchover the user, database and root verbs are refused too', async (t) => {
  let readOnly = true;
  const calls: string[] = [];
  const engine = { name: 'x', replication: { isReplica: async () => false, isReadOnly: async () => readOnly } } as unknown as Engine;
  const h = refuseWritesOnReplica(engine, { create_database: async () => (calls.push('create_database'), null) } as Pick<
    Handlers<GuestContract>,
    'create_database'
  >);
  await t.throwsAsync(h.create_database({ databases: [] }, ctx('create_database')), {
    instanceOf: InvalidValueError,
    message: /read-only \(its replication source is being switched\)/,
  });
  readOnly = false;
  await h.create_database({ databases: [] }, ctx('create_database'));
  t.deepEqual(calls, ['create_database']);
});

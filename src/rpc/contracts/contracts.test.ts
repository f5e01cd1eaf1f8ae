import test from 'ava';
import { conductorContract } from './conductor.js';
import { guestContract, guestTopic } from './guest.js';
import { taskmanagerContract, TASKMANAGER_TOPIC } from './taskmanager.js';
import { CONDUCTOR_TOPIC } from './conductor.js';
import { contractVersion } from '../contract.js';

const kinds = (c: Record<string, { kind: string; since: string }>) =>
  Object.fromEntries(
    ['call', 'cast'].map((k) => [
      k,
      Object.keys(c)
        .filter((v) => c[v]!.kind === k)
        .sort(),
    ]),
  );

test('topics', (t) => {
  t.is(guestTopic('4f1c'), 'guestagent.4f1c');
  t.is(TASKMANAGER_TOPIC, 'taskmanager');
  t.is(CONDUCTOR_TOPIC, 'trove-conductor');
});

test('guest verbs: calls and casts (the database and user verbs are calls in trove-ts)', (t) => {
  const k = kinds(guestContract);
  for (const v of [
    'create_database',
    'delete_database',
    'create_user',
    'delete_user',
    'change_passwords',
    'update_attributes',
    'list_users',
    'enable_root',
    'restart',
  ]) {
    t.true(k.call?.includes(v), `${v} is a call`);
  }
  t.deepEqual(k.cast, ['create_backup', 'prepare']);
  t.is(guestContract.prepare.since, '1.1');
  // 1.2: upgrade_agent and the datastore version upgrade (an agent that speaks 1.1 is sent neither: src/rpc/upgrade-levels.ts)
  t.is(guestContract.upgrade_agent.since, '1.2');
  t.is(guestContract.upgrade.since, '1.2');
  t.is(contractVersion(guestContract), '1.2');
});

test('taskmanager and conductor verbs are all casts; taskmanager ones name the instance first', (t) => {
  t.deepEqual(kinds(taskmanagerContract).call, []);
  t.deepEqual(kinds(conductorContract).call, []);
  for (const [verb, v] of Object.entries(taskmanagerContract)) {
    const first = Object.keys(v.args.shape)[0];
    t.is(first, verb === 'delete_backup' ? 'backup_id' : 'instance_id', verb);
  }
});

test("prepare as Trove's taskmanager sends it, underscore-keyed objects and all", (t) => {
  const a = guestContract.prepare.args.parse({
    memory_mb: 2048,
    packages: ['mysql-server-5.7'],
    databases: [{ _name: 'shop', _character_set: 'utf8mb4', _collate: 'utf8mb4_general_ci' }],
    users: [{ _name: 'app', _password: 'pw', _host: '%', _databases: [{ _name: 'shop' }] }],
    device_path: '/dev/vdb',
    mount_point: '/var/lib/mysql',
    backup_info: null,
    config_contents: '[mysqld]\n',
    root_password: null,
    overrides: {},
    cluster_config: null,
    snapshot: null,
    modules: [],
    ds_version: '5.7.29',
  });
  t.is(a.users[0]!._databases[0]!._name, 'shop');
  t.deepEqual(guestContract.prepare.args.parse({ memory_mb: 512 }).databases, []);
  t.false(guestContract.prepare.args.safeParse({ memory_mb: -1 }).success);
  t.false(guestContract.create_user.args.safeParse({ users: [{ name: 'app' }] }).success, 'plain keys are not the wire form');
});

test('list results are [items, next_marker] as Python tuples arrive', (t) => {
  const [items, marker] = guestContract.list_databases.result.parse([[{ _name: 'a', _character_set: null, _collate: null }], 'a']);
  t.is(items[0]!._name, 'a');
  t.is(marker, 'a');
  t.deepEqual(guestContract.list_users.result.parse([[], null]), [[], null]);
  t.deepEqual(guestContract.list_databases.args.parse({}), { include_marker: false });
});

test('conductor: heartbeat and update_backup as a guest sends them', (t) => {
  const hb = conductorContract.heartbeat.args.parse({ instance_id: 'i', payload: { service_status: 'healthy' }, sent: 1712345678.123456 });
  t.is(hb.payload.service_status, 'healthy');
  // the agent's version: optional (an older agent sends none), a bad one dropped without refusing the heartbeat
  const versioned = conductorContract.heartbeat.args.parse({
    instance_id: 'i',
    payload: { service_status: 'healthy', agent_version: '0.1.0', agent_rpc_version: '1.2' },
  });
  t.like(versioned.payload, { agent_version: '0.1.0', agent_rpc_version: '1.2' });
  const bad = conductorContract.heartbeat.args.parse({ instance_id: 'i', payload: { service_status: 'healthy', agent_rpc_version: 'one.two' } });
  t.is(bad.payload.service_status, 'healthy');
  t.is(bad.payload.agent_rpc_version, undefined);
  const ub = conductorContract.update_backup.args.parse({
    instance_id: 'i',
    backup_id: 'b',
    sent: 1712345678.5,
    state: 'COMPLETED',
    size: 0.12,
    checksum: 'abc',
    location: 'http://swift/v1/database_backups/b.xbstream.gz.enc',
    backup_type: 'xtrabackup',
    success: true,
  });
  t.is(ub.state, 'COMPLETED');
  t.false(conductorContract.update_backup.args.safeParse({ instance_id: 'i', backup_id: 'b', state: 'DONE' }).success);
});

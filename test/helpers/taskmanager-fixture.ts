// The taskmanager's flows on SQLite with a real FlowRunner and recorded guests and cloud drivers
// (the replica and promote flow tests): each guest verb is recorded and answered by `guest[verb]`.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createThrowawaySqlite, type ThrowawayDb } from './throwaway-db.js';
import { createLogger } from '../../src/common/log.js';
import { SecretBox } from '../../src/common/secret-box.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { ServiceStatuses } from '../../src/common/service-status.js';
import { ComputeNotFoundError } from '../../src/clients/compute.js';
import { FlowRunner } from '../../src/taskmanager/flow.js';
import type { TaskContext } from '../../src/taskmanager/context.js';
import { taskmanagerDefaults } from '../../src/taskmanager/config.js';
import { registerFlows } from '../../src/taskmanager/manager.js';
import { noNotifier } from '../../src/notifications/notifier.js';

export const PASSWORD = 'Repl-S3cret-pw-91';
export const P = 'proj-r';

export interface Call {
  instance: string;
  verb: string;
  args: any;
}

export interface Fixture {
  tdb: ThrowawayDb;
  ctx: TaskContext;
  calls: Call[];
  logs: string[];
  /** per verb: what the recorded guest does (default: nothing) */
  guest: Record<string, (instance: string, args: any) => Promise<unknown>>;
  deletedServers: string[];
  deletedObjects: string[];
  version: string;
  flowStates: string[];
}

export async function fixture(t: { teardown(fn: () => Promise<void> | void): void }): Promise<Fixture> {
  const tdb = await createThrowawaySqlite();
  const logs: string[] = [];
  const log = createLogger('test', { destination: new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }), level: 'debug' });
  const runner = new FlowRunner({ db: tdb.db, log, owner: 'tm-test', leaseSeconds: 5 });
  t.teardown(async () => {
    await runner.idle();
    await tdb.drop();
  });
  const ds = randomUUID();
  const version = randomUUID();
  await tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: version });
  await tdb.db('datastore_versions').insert({ id: version, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', active: true });
  const calls: Call[] = [];
  const deletedServers: string[] = [];
  const deletedObjects: string[] = [];
  const flowStates: string[] = [];
  const f: Fixture = { tdb, ctx: undefined as unknown as TaskContext, calls, logs, guest: {}, deletedServers, deletedObjects, version, flowStates };
  // the recorded guests: get_replication_snapshot makes an account, create_backup completes as the
  // guest + conductor would, prepare reports healthy
  f.guest.get_replication_snapshot = async () => ({ port: 3306, replication_user: { name: 'repl_x', password: PASSWORD } });
  f.guest.create_backup = async (_i, a) => {
    setTimeout(
      () =>
        void tdb
          .db('backups')
          .where({ id: a.backup_info.id })
          .update({ state: 'COMPLETED', location: `loc/${a.backup_info.id}`, checksum: 'c', size: 0.1 })
          .then(() => undefined),
      100,
    );
    return null;
  };
  f.guest.prepare = async (i) => {
    for (const r of await tdb.db('instances').whereNotNull('flow_state').select('flow_state')) flowStates.push(r.flow_state);
    setTimeout(
      () =>
        void tdb
          .db('service_statuses')
          .where({ instance_id: i })
          .update({ status_id: ServiceStatuses.HEALTHY.code, updated_at: new Date(Date.now() + 500) })
          .then(() => undefined),
      100,
    );
    return null;
  };
  const servers = new Map<string, string>();
  f.ctx = {
    db: tdb.db,
    log,
    raw: {},
    config: taskmanagerDefaults.parse({ compute_driver: 'local', agent_call_high_timeout: '2', state_change_wait_time: '5' }),
    messaging: { transport_url: 'memory://', control_exchange: 'trove', rpc_response_timeout: 60 },
    secrets: new SecretBox('k'),
    secure: { guest: () => undefined, instanceKey: () => null },
    runner,
    notifier: noNotifier,
    rpc: {
      prepareTopic: async () => undefined,
      stub: (_c: unknown, topic: string) =>
        new Proxy(
          {},
          {
            get: (_t, verb: string) =>
              verb === 'then'
                ? undefined
                : async (args: unknown) => {
                    const instance = topic.replace('guestagent.', '');
                    calls.push({ instance, verb, args });
                    const fn = f.guest[verb];
                    return fn ? fn(instance, args) : null;
                  },
          },
        ),
    },
    compute: {
      getFlavor: async (id: string) => ({ id, name: id, ram: 1024, vcpus: 1, disk: 5, ephemeral: 0 }),
      createServer: async (spec: { instanceId: string }) => {
        servers.set(`srv-${spec.instanceId}`, 'ACTIVE');
        return { id: `srv-${spec.instanceId}`, status: 'ACTIVE', addresses: [] };
      },
      getServer: async (id: string) => {
        if (!servers.has(id)) throw new ComputeNotFoundError('server', id);
        return { id, status: servers.get(id), addresses: [{ address: '10.0.0.9', type: 'private' }] };
      },
      findServerForInstance: async () => undefined,
      consoleOutput: async (id: string) => {
        if (!servers.has(id)) throw new ComputeNotFoundError('server', id);
        return `console of ${id}`;
      },
      deleteServer: async (id: string) => {
        servers.delete(id);
        deletedServers.push(id);
      },
    },
    volumes: {
      ensureVolume: async (name: string) => ({ id: `vol-${name}`, status: 'available' }),
      getVolume: async (id: string) => ({ id, status: 'available' }),
      findVolume: async () => undefined,
      deleteVolume: async () => undefined,
    },
    network: { ensureSecurityGroup: async (name: string) => name, deleteSecurityGroup: async () => undefined },
    objectStore: () => ({
      parseLocation: async (loc: string) => ({ container: 'c', name: loc }),
      deleteObject: async (_c: string, name: string) => void deletedObjects.push(name),
    }),
  } as unknown as TaskContext;
  registerFlows(f.ctx);
  return f;
}

export async function instance(f: Fixture, o: { slaveOf?: string | null; task?: number; server?: string | null } = {}): Promise<string> {
  const id = randomUUID();
  await f.tdb.db('instances').insert({
    id,
    name: 'db',
    tenant_id: P,
    flavor_id: 'ds1G',
    volume_size: 1,
    task_id: o.task ?? Tasks.NONE.code,
    task_description: 'x',
    server_status: o.server === undefined ? 'ACTIVE' : o.server,
    datastore_version_id: f.version,
    slave_of_id: o.slaveOf ?? null,
    compute_instance_id: o.server === null ? null : `srv-${id}`,
    addresses: JSON.stringify([{ address: '10.0.0.5', type: 'private', network: 'n' }]),
    deleted: false,
    created: new Date(),
    updated: new Date(),
  });
  await f.tdb.db('service_statuses').insert({
    id: randomUUID(),
    instance_id: id,
    status_id: o.server === null ? ServiceStatuses.NEW.code : ServiceStatuses.HEALTHY.code,
    status_description: 'x',
    updated_at: new Date(),
  });
  return id;
}

export async function settle(f: Fixture, id: string): Promise<any> {
  for (const until = Date.now() + 30_000; Date.now() < until;) {
    const r = await f.tdb.db('instances').where({ id }).first();
    if (!r.flow_state) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  const steps = f.logs
    .map((l) => JSON.parse(l) as { msg: string; step?: string; err?: string; flow?: string })
    .map((l) => `${l.flow ?? ''} ${l.step ?? ''} ${l.msg} ${l.err ?? ''}`);
  throw new Error(`the flow did not end:\n${steps.slice(-12).join('\n')}`);
}

export const fault = async (f: Fixture, id: string) =>
  (await f.tdb.db('instance_faults').where({ instance_id: id }).orderBy('created', 'desc').first())?.message as string | undefined;

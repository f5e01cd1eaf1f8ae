// Guest agents for the engine tests that go through the guest's own handlers, as its RPC server
// dispatches them: each agent an engine in a temp directory of its own (state, volume, a free
// port), a conductor that records its heartbeats and backup reports, and the local backup store
// they share; the agents' log lines captured for the tests that look for passwords in them. Then
// the guest calls of the taskmanager's flows, in their order: a replica built from its source's
// backup and a replication account (replica.ts), a member promoted and the others attached to it
// (promote.ts, eject.ts), a switchover. The engine and its config section come from the test.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { z } from 'zod';
import type { RawConfig } from '../../src/common/config/reader.js';
import { createLogger, type Logger } from '../../src/common/log.js';
import type { Handlers, Stub } from '../../src/rpc/contract.js';
import type { ConductorContract } from '../../src/rpc/contracts/conductor.js';
import { guestContract, type GuestContract } from '../../src/rpc/contracts/guest.js';
import { backupDefaults } from '../../guestagent/backup/config.js';
import type { Engine, Lifecycle } from '../../guestagent/capabilities.js';
import { guestHandlers, StatusReporter } from '../../guestagent/manager.js';
import { engineMetrics, type EngineMetrics } from '../../src/common/engine-metrics.js';
import { freeTcpPort } from './ports.js';
import { reapOnExit } from './reap.js';

export interface TestAgent<L extends Lifecycle = Lifecycle> {
  /** The instance id ([DEFAULT] guest_id). */
  id: string;
  /** Its directory under the root: <root>/<name>/{state,volume}. */
  name: string;
  engine: Engine;
  /** engine.lifecycle, as the engine's own class. */
  lc: L;
  port: number;
  stateDir: string;
  h: Handlers<GuestContract>;
  reporter: StatusReporter;
  /** The service_status of each heartbeat, in order. */
  beats: string[];
  /** The update_backup reports, in order. */
  backups: Array<Record<string, unknown>>;
  /** The metrics of each heartbeat that carried some, in order. */
  metrics: EngineMetrics[];
}

/** How a replica reaches its source (the snapshot's master, as the taskmanager passes it on). */
export interface Master {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface StoredBackup {
  location: string;
  checksum: string;
}

export interface GuestAgentsOptions {
  /** The temp directory's prefix. */
  prefix: string;
  /** The engine's config section (mount_point, port and bind_host go there). */
  section: string;
  build: (raw: RawConfig, stateDir: string, log: Logger) => Engine;
  /** Keys of every agent's section (an agent's own extra keys win). */
  defaults?: Record<string, string>;
}

type Verb = keyof GuestContract;
/** A guest verb's arguments as a caller sends them (before the contract parses them). */
export type GuestArgs<K extends Verb> = z.input<GuestContract[K]['args']>;

/** A guest verb called as the agent's RPC server calls it: its arguments parsed against the contract first. */
export function call<K extends Verb>(a: TestAgent<Lifecycle>, verb: K, args?: GuestArgs<K>): ReturnType<Handlers<GuestContract>[K]> {
  const handler = a.h[verb] as (args: unknown, ctx: { context: Record<string, unknown>; method: string }) => ReturnType<Handlers<GuestContract>[K]>;
  return handler(guestContract[verb].args.parse(args ?? {}), { context: {}, method: verb });
}

/** Polls `check` until it holds (an error counts as not yet); past `ms`, fails naming `what` and the last error. */
export async function until(what: string, check: () => Promise<boolean>, ms = 15_000, every = 200): Promise<void> {
  let last: unknown;
  for (const deadline = Date.now() + ms; ;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The prepare arguments that restore a stored backup from the local store. */
export const restoreFrom = (id: string, b: StoredBackup): Pick<GuestArgs<'prepare'>, 'backup_info' | 'storage'> => ({
  backup_info: { id, location: b.location, checksum: b.checksum, type: 'full', storage_driver: 'local' },
  storage: { driver: 'local' },
});

/** get_last_txn: the member's last transaction, as the eject flow compares them. */
export const lastTxn = async (a: TestAgent<Lifecycle>): Promise<string> => guestContract.get_last_txn.result.parse(await call(a, 'get_last_txn')).txn;

export const waitForTxn = (a: TestAgent<Lifecycle>, txn: string, timeout: number) => call(a, 'wait_for_txn', { txn, timeout });

/** What promote and eject do to the member that becomes the source: detached for the failover, enabled as the source. */
export async function promote(a: TestAgent<Lifecycle>, o: { twice?: boolean } = {}): Promise<void> {
  await call(a, 'detach_replica', { for_failover: true });
  await call(a, 'enable_as_master');
  if (o.twice) await call(a, 'enable_as_master'); // twice is fine
}

export class GuestAgents<L extends Lifecycle = Lifecycle> {
  /** Every line the agents logged. */
  readonly logged: string[] = [];
  readonly log: Logger;
  /** The passwords the test handled (replication accounts among them): none may be in a log line. */
  readonly passwords: string[] = [];
  private dir: string | undefined;
  private readonly agents = new Map<string, TestAgent<L>>();

  constructor(private readonly o: GuestAgentsOptions) {
    this.log = createLogger('test', { level: 'debug', destination: new Writable({ write: (c, _e, cb) => (this.logged.push(String(c)), cb()) }) });
  }

  /** The temp directory (made by open). */
  get root(): string {
    if (!this.dir) throw new Error('GuestAgents: open() first');
    return this.dir;
  }

  /** Makes the temp directory (0755: the engines' OS users reach into it); a crash of the test file leaves no engine running. */
  open(): void {
    this.dir = mkdtempSync(path.join(tmpdir(), this.o.prefix));
    reapOnExit(this.dir);
    chmodSync(this.dir, 0o755);
  }

  /** Stops every engine; removes the temp directory (kept with KEEP=1). */
  async close(): Promise<void> {
    for (const a of this.agents.values()) await a.engine.lifecycle.stop().catch(() => undefined);
    if (this.dir && !process.env.KEEP) rmSync(this.dir, { recursive: true, force: true });
  }

  /** An agent (not prepared yet) for instance `id`, in <root>/<name>. */
  async agent(name: string, id: string, extra: Record<string, string> = {}): Promise<TestAgent<L>> {
    const port = await freeTcpPort();
    const stateDir = path.join(this.root, name, 'state');
    mkdirSync(stateDir, { recursive: true });
    const section = { mount_point: path.join(this.root, name, 'volume'), port: String(port), bind_host: '127.0.0.1', ...this.o.defaults, ...extra };
    const engine = this.o.build({ DEFAULT: { guest_id: id }, [this.o.section]: section }, stateDir, this.log);
    const beats: string[] = [];
    const backups: Array<Record<string, unknown>> = [];
    const metrics: EngineMetrics[] = [];
    const conductor = {
      heartbeat: async (a: { payload: { service_status: string; metrics?: unknown } }) => {
        beats.push(a.payload.service_status);
        // as the conductor takes them: a malformed object fails the test here
        if (a.payload.metrics !== undefined) metrics.push(engineMetrics.parse(a.payload.metrics));
      },
      report_usage: async () => undefined,
      update_backup: async (a: Record<string, unknown>) => void backups.push(a),
    } as unknown as Stub<ConductorContract>;
    const options = {
      instanceId: id,
      engine,
      conductor,
      log: this.log,
      backupConfig: backupDefaults.parse({ backup_local_dir: path.join(this.root, 'objects') }),
      prepareFailedFile: path.join(stateDir, 'prepare-failed'),
    };
    const reporter = new StatusReporter(options);
    const a = { id, name, engine, lc: engine.lifecycle as L, port, stateDir, h: guestHandlers(options, reporter), reporter, beats, backups, metrics };
    this.agents.set(name, a);
    return a;
  }

  /** The agent made under `name`. */
  named(name: string): TestAgent<L> {
    const a = this.agents.get(name);
    if (!a) throw new Error(`no agent named ${name}`);
    return a;
  }

  /** create_backup into the local store, then its report: the stored object (an error unless COMPLETED). */
  async backupOf(a: TestAgent<L>, id: string, ms = 60_000): Promise<StoredBackup> {
    await call(a, 'create_backup', { backup_info: { id, instance_id: a.id, storage_driver: 'local' }, storage: { driver: 'local' } });
    await until(`the report of backup ${id}`, async () => a.backups.some((b) => b.backup_id === id), ms);
    const r = a.backups.find((b) => b.backup_id === id)!;
    if (r.state !== 'COMPLETED') throw new Error(`backup ${id} ended ${String(r.state)}`);
    return { location: String(r.location), checksum: String(r.checksum) };
  }

  /** get_replication_snapshot on the source for a replica: its replication account (the password recorded). */
  async snapshotFor(source: TestAgent<L>, replicaId: string): Promise<Master> {
    const s = guestContract.get_replication_snapshot.result.parse(
      await call(source, 'get_replication_snapshot', { snapshot_info: { replica_id: replicaId, name: 'r' } }),
    );
    this.passwords.push(s.replication_user.password);
    return { host: '127.0.0.1', port: s.port, user: s.replication_user.name, password: s.replication_user.password };
  }

  /**
   * The replica flow for each of `replicas`: an account on the source, one backup of the source
   * (`afterBackup` writes what replication, not the backup, brings), then each agent prepared
   * from it with its account, all at once.
   */
  async addReplicas(
    source: TestAgent<L>,
    replicas: Array<{ name: string; id: string }>,
    o: { backupId: string; prepareArgs: (extra: Record<string, unknown>) => GuestArgs<'prepare'>; afterBackup?: () => Promise<void> },
  ): Promise<Array<TestAgent<L>>> {
    const masters: Master[] = [];
    for (const r of replicas) masters.push(await this.snapshotFor(source, r.id));
    const backup = await this.backupOf(source, o.backupId);
    await o.afterBackup?.();
    const agents = await Promise.all(replicas.map((r) => this.agent(r.name, r.id)));
    await Promise.all(agents.map((a, i) => call(a, 'prepare', o.prepareArgs({ ...restoreFrom(o.backupId, backup), snapshot: { master: masters[i] } }))));
    return agents;
  }

  /** What the promote and eject flows do for each member of the new source's set: an account on the new source, the member attached to it. */
  async attach(member: TestAgent<L>, to: TestAgent<L>): Promise<void> {
    await call(member, 'attach_replica', { replica_info: { master: await this.snapshotFor(to, member.id) } });
  }

  /**
   * A switchover's first half (promote.ts): the source stops users' writes, the chosen replica
   * waits for its last transaction and becomes the source. The source's last transaction.
   */
  async switchover(source: TestAgent<L>, to: TestAgent<L>, o: { timeout?: number; twice?: boolean } = {}): Promise<string> {
    await call(source, 'make_read_only', { read_only: true });
    const txn = await lastTxn(source);
    await waitForTxn(to, txn, o.timeout ?? 30);
    await promote(to, o);
    return txn;
  }
}

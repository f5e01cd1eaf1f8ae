// Compute on this machine: a "server" is a guest agent process with its own directory and its own
// loopback address (127.0.N.x), started detached so it outlives the taskmanager, as a VM would.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { ComputeNotFoundError, type Flavor, type GuestAgentProcesses, type Server, type ServerCompute, type ServerSpec } from '../compute.js';
import type { LocalConfig } from './config.js';
import { RUNTIME_DIR_RECORD, runtimeDirFor } from '../../common/runtime-dir.js';
import { tailLines } from '../../common/file-tail.js';
import { renderIni } from '../../common/config/writer.js';
import { LoopbackAddresses } from './loopback-addresses.js';

interface ServerRecord {
  id: string;
  instanceId: string;
  name: string;
  address: string;
  flavor: Flavor;
  volumeId?: string | undefined;
  stopped?: boolean;
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function parseFlavors(spec: string): Flavor[] {
  return spec
    .split(',')
    .filter(Boolean)
    .map((f) => {
      const [id, name, ram, vcpus, disk] = f.split(':');
      return { id: id!, name: name!, ram: Number(ram), vcpus: Number(vcpus), disk: Number(disk), ephemeral: 0 };
    });
}

const run = promisify(execFile);

/** Sends SIGTERM to the pids, waits up to a minute for them to exit, then SIGKILLs what is left. */
async function terminate(pids: number[]): Promise<void> {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}

export class LocalCompute implements ServerCompute, GuestAgentProcesses {
  private readonly flavors: Flavor[];
  private readonly serversDir: string;
  private readonly addresses: LoopbackAddresses;

  constructor(
    private readonly c: LocalConfig,
    private readonly volumeDir: (volumeId: string) => string,
  ) {
    this.flavors = parseFlavors(c.flavors);
    this.serversDir = path.join(c.state_dir, 'servers');
    this.addresses = new LoopbackAddresses({
      claimsDir: path.join(c.state_dir, 'addresses'),
      subnet: c.address_subnet,
      probePorts: c.probe_ports,
      serverExists: (id) => existsSync(this.dir(id)),
      used: (id) => this.usedAddresses(id),
    });
  }

  async listFlavors(): Promise<Flavor[]> {
    return this.flavors;
  }

  async getFlavor(id: string): Promise<Flavor> {
    const f = this.flavors.find((x) => x.id === id || x.name === id);
    if (!f) throw new ComputeNotFoundError('flavor', id);
    return f;
  }

  private dir(id: string): string {
    return path.join(this.serversDir, id);
  }

  private read(id: string): ServerRecord {
    const file = path.join(this.dir(id), 'server.json');
    if (!existsSync(file)) throw new ComputeNotFoundError('server', id);
    return JSON.parse(readFileSync(file, 'utf8')) as ServerRecord;
  }

  private write(r: ServerRecord): void {
    writeFileSync(path.join(this.dir(r.id), 'server.json'), JSON.stringify(r, null, 2));
  }

  private agentPid(id: string): number | undefined {
    const f = path.join(this.dir(id), 'agent.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
  }

  private allocateAddress(id: string): Promise<string> {
    return this.addresses.allocate(id);
  }

  private release(address: string, id: string): void {
    this.addresses.release(address, id);
  }

  /** Addresses servers hold through their records (servers created before address claims existed). */
  private usedAddresses(exceptId: string): Set<string> {
    const used = new Set<string>();
    if (!existsSync(this.serversDir)) return used;
    for (const d of readdirSync(this.serversDir)) {
      try {
        if (d !== exceptId) used.add(this.read(d).address);
      } catch {
        /* a server still being written: its claim file guards its address */
      }
    }
    return used;
  }

  private startAgent(r: ServerRecord): void {
    const dir = this.dir(r.id);
    const log = openSync(path.join(dir, 'agent.log'), 'a');
    try {
      const files = [path.join(dir, 'guest.conf'), ...(this.c.guest_config_file ? [this.c.guest_config_file] : []), path.join(dir, 'local.conf')];
      const child = spawn(process.execPath, [this.c.guestagent_bin, ...files.flatMap((f) => ['--config-file', f])], {
        detached: true,
        stdio: ['ignore', log, log],
        cwd: dir,
      });
      child.unref();
      writeFileSync(path.join(dir, 'agent.pid'), String(child.pid));
    } finally {
      closeSync(log);
    }
  }

  async createServer(spec: ServerSpec): Promise<Server> {
    const existing = await this.findServerForInstance(spec.instanceId);
    if (existing) return existing;
    const id = spec.instanceId;
    const dir = this.dir(id);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const address = await this.allocateAddress(id);
    const mount = spec.volumeId ? this.volumeDir(spec.volumeId) : path.join(dir, 'data');
    mkdirSync(mount, { recursive: true });
    writeFileSync(path.join(dir, 'guest.conf'), spec.guestConfig, { mode: 0o600 });
    const local = {
      state_dir: path.join(dir, 'agent'),
      data_mount_point: mount,
      data_bind_host: address,
      backup_local_dir: path.join(this.c.state_dir, 'objects'),
      log_archive_storage: 'local',
      ...(spec.volumeId ? { data_volume_file: path.join(mount, '..', 'volume.json'), data_volume_unit_mb: this.c.volume_unit_mb } : {}),
      runtime_dir: this.c.runtime_dir ? path.resolve(this.c.runtime_dir) : undefined,
    };
    writeFileSync(path.join(dir, 'local.conf'), renderIni({ DEFAULT: local }, 'written by the local compute driver'), { mode: 0o600 });
    const r: ServerRecord = { id, instanceId: spec.instanceId, name: spec.name, address, flavor: spec.flavor, volumeId: spec.volumeId };
    this.write(r);
    this.startAgent(r);
    return this.getServer(id);
  }

  async getServer(id: string): Promise<Server> {
    const r = this.read(id);
    const up = alive(this.agentPid(id));
    return {
      id,
      status: up ? 'ACTIVE' : r.stopped ? 'SHUTOFF' : 'ERROR',
      addresses: [{ address: r.address, type: 'private', network: 'loopback' }],
      fault: up || r.stopped ? undefined : 'the guest agent process is not running',
    };
  }

  async findServerForInstance(instanceId: string): Promise<Server | undefined> {
    return existsSync(path.join(this.dir(instanceId), 'server.json')) ? this.getServer(instanceId) : undefined;
  }

  private async stopAll(id: string): Promise<void> {
    const pids: number[] = [];
    const agent = this.agentPid(id);
    if (agent) pids.push(agent);
    const stateDir = path.join(this.dir(id), 'agent');
    if (existsSync(stateDir)) {
      for (const f of readdirSync(stateDir).filter((x) => x.endsWith('.pid'))) {
        const pid = Number(readFileSync(path.join(stateDir, f), 'utf8'));
        if (pid) pids.push(pid);
      }
    }
    await terminate(pids);
  }

  async restartAgent(id: string): Promise<string> {
    const r = this.read(id);
    // the installed code must start before the running agent is stopped
    const started = await run(process.execPath, [this.c.guestagent_bin, '--version'], { timeout: 120_000 }).catch(
      (err: { stderr?: string; message: string }) => {
        const why = (err.stderr || err.message)
          .trim()
          .split('\n')
          .filter((l) => l.trim() && !/^\s+at /.test(l))
          .slice(-3)
          .join(' | ');
        throw new Error(`The installed guest agent (${this.c.guestagent_bin}) does not start: ${why}. The running agent is kept.`, { cause: err });
      },
    );
    const agent = this.agentPid(id);
    if (agent) await terminate([agent]);
    this.startAgent(r);
    return started.stdout.trim().split('\n').pop() ?? '';
  }

  async deleteServer(id: string): Promise<void> {
    if (!existsSync(this.dir(id))) return;
    await this.stopAll(id);
    const address = existsSync(path.join(this.dir(id), 'server.json')) ? this.read(id).address : undefined;
    rmSync(this.runtimeDir(id), { recursive: true, force: true });
    rmSync(this.dir(id), { recursive: true, force: true });
    if (address) this.release(address, id);
  }

  /** Where the server's agent put its engine's sockets: as it recorded it, else where it would have. */
  private runtimeDir(id: string): string {
    const agentDir = path.join(this.dir(id), 'agent');
    const expected = runtimeDirFor(agentDir, this.c.runtime_dir);
    const record = path.join(agentDir, RUNTIME_DIR_RECORD);
    const recorded = existsSync(record) ? readFileSync(record, 'utf8').trim() : '';
    // only a directory named after this agent's state directory is this agent's
    return recorded && path.isAbsolute(recorded) && path.basename(recorded) === path.basename(expected) ? recorded : expected;
  }

  async consoleOutput(id: string, lines: number): Promise<string> {
    const file = path.join(this.dir(id), 'agent.log');
    if (!existsSync(file)) throw new ComputeNotFoundError('server', id);
    return tailLines(file, lines);
  }

  async rebootServer(id: string): Promise<void> {
    const r = this.read(id);
    await this.stopAll(id);
    this.startAgent(r);
  }

  /** Local servers have no image: their engine builds are side by side on this machine (an upgrade switches builds in place). */
  async rebuildServer(id: string, imageId: string): Promise<void> {
    throw new Error(`server ${id}: the local compute driver cannot rebuild from image ${imageId} (its instances use the engine builds installed here)`);
  }

  async resizeServer(id: string, flavor: Flavor): Promise<void> {
    const r = this.read(id);
    this.write({ ...r, flavor });
  }

  /** Starts the guest agent of every server whose agent is not running (after a restart of the machine or of the all-in-one service). */
  async resumeServers(): Promise<string[]> {
    if (!existsSync(this.serversDir)) return [];
    const started: string[] = [];
    for (const id of readdirSync(this.serversDir)) {
      let r: ServerRecord;
      try {
        r = this.read(id);
      } catch {
        continue;
      }
      if (!r.stopped && !alive(this.agentPid(id))) {
        this.startAgent(r);
        started.push(id);
      }
    }
    return started;
  }

  /** Each server's instance and its guest config's text (what the taskmanager gave it). */
  guestConfigs(): Array<{ instanceId: string; text: string }> {
    if (!existsSync(this.serversDir)) return [];
    const out: Array<{ instanceId: string; text: string }> = [];
    for (const id of readdirSync(this.serversDir)) {
      const file = path.join(this.dir(id), 'guest.conf');
      if (existsSync(file) && existsSync(path.join(this.dir(id), 'server.json')))
        out.push({ instanceId: this.read(id).instanceId, text: readFileSync(file, 'utf8') });
    }
    return out;
  }

  /** Rewrites the instance's guest config; its agent, when running, restarts to read it. */
  async rewriteGuestConfig(instanceId: string, text: string): Promise<void> {
    const r = this.read(instanceId);
    writeFileSync(path.join(this.dir(r.id), 'guest.conf'), text, { mode: 0o600 });
    if (alive(this.agentPid(r.id))) await this.rebootServer(r.id);
  }

  /** Stops every server's guest agent and engine, keeping their data (all-in-one shutdown). */
  async stopServers(): Promise<void> {
    if (!existsSync(this.serversDir)) return;
    await Promise.all(readdirSync(this.serversDir).map((id) => this.stopAll(id)));
  }

  async confirmResize(): Promise<void> {
    /* nothing to confirm: a local resize takes effect when the engine restarts */
  }
}

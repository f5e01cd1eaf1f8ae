// Compute as qemu virtual machines on this machine (compute_driver = qemu): a server boots the
// datastore version's guest image (trove-manage guest_image_build) from a qcow2 overlay, with the
// instance's volume as its second disk and a config drive made from the guest config, as Nova
// would boot it. Its network is qemu's user mode with restrict=on: the guest reaches nothing but
// the bus (a guestfwd per broker, to the transport_url's host and port) and nothing reaches it but
// its published engine ports (hostfwd on a loopback address of its own, 127.0.<subnet>.x, the
// server's address). qemu runs daemonized, so a VM outlives the taskmanager, as a Nova server does.
import { execFile } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ComputeNotFoundError, type Flavor, type Server, type ServerCompute, type ServerSpec } from '../compute.js';
import { tailLines } from '../../common/file-tail.js';
import { LoopbackAddresses } from '../local/loopback-addresses.js';
import type { QemuConfig } from './config.js';
import { guestBusView, makeConfigDrive, type BusForward } from './config-drive.js';
import { findImage } from './images.js';
import { qmp } from './qmp.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ServerRecord {
  id: string;
  instanceId: string;
  name: string;
  address: string;
  flavor: Flavor;
  imageId: string;
  volumeId?: string | undefined;
  forwards: BusForward[];
  /** powered off on purpose (not a crash) */
  stopped?: boolean;
}

/** Running (a zombie is not: a daemonized qemu's parent is init, or a subreaper that reaps late). */
function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** kvm when this machine offers it (auto), else software emulation. */
function accelOf(c: QemuConfig): 'kvm' | 'tcg' {
  if (c.accel !== 'auto') return c.accel;
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
    return 'kvm';
  } catch {
    return 'tcg';
  }
}

export class QemuCompute implements ServerCompute {
  private readonly serversDir: string;
  private readonly addresses: LoopbackAddresses;

  constructor(
    private readonly c: QemuConfig,
    private readonly flavors: Flavor[],
    /** the qcow2 file of a volume (QemuVolumes.file) */
    private readonly volumeFile: (volumeId: string) => string,
  ) {
    this.serversDir = path.join(c.state_dir, 'servers');
    this.addresses = new LoopbackAddresses({
      claimsDir: path.join(c.state_dir, 'addresses'),
      subnet: c.address_subnet,
      probePorts: c.published_ports,
      serverExists: (id) => existsSync(this.dir(id)),
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

  private file(id: string, name: string): string {
    return path.join(this.dir(id), name);
  }

  private read(id: string): ServerRecord {
    const file = this.file(id, 'server.json');
    if (!existsSync(file)) throw new ComputeNotFoundError('server', id);
    return JSON.parse(readFileSync(file, 'utf8')) as ServerRecord;
  }

  private write(r: ServerRecord): void {
    writeFileSync(this.file(r.id, 'server.json'), JSON.stringify(r, null, 2));
  }

  private pid(id: string): number | undefined {
    const f = this.file(id, 'qemu.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) || undefined : undefined;
  }

  async createServer(spec: ServerSpec): Promise<Server> {
    const existing = await this.findServerForInstance(spec.instanceId);
    if (existing) return existing;
    const image = findImage(this.c.image_dir, spec.imageId);
    if (!image) throw new Error(`no guest image ${spec.imageId} in ${this.c.image_dir} (build one with trove-manage guest_image_build)`);
    const id = spec.instanceId;
    const dir = this.dir(id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const address = await this.addresses.allocate(id);
    // the server's own link to its image: a later build may replace the image, never under a running VM
    const base = this.file(id, 'base.qcow2');
    rmSync(base, { force: true });
    try {
      linkSync(image.path, base);
    } catch {
      copyFileSync(image.path, base);
    }
    await run(this.c.qemu_img_bin, ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, this.file(id, 'disk.qcow2')], { timeout: 60_000 });
    const view = guestBusView(spec.guestConfig, this.c.bus_address);
    writeFileSync(this.file(id, 'guest.conf'), view.config, { mode: 0o600 });
    await makeConfigDrive(this.file(id, 'config.iso'), {
      instanceId: spec.instanceId,
      name: spec.name,
      guestConfig: view.config,
      mkisofs: this.c.mkisofs_bin,
      availabilityZone: spec.availabilityZone,
    });
    const r: ServerRecord = {
      id,
      instanceId: spec.instanceId,
      name: spec.name,
      address,
      flavor: spec.flavor,
      imageId: spec.imageId,
      volumeId: spec.volumeId,
      forwards: view.forwards,
    };
    this.write(r);
    await this.start(r);
    return this.getServer(id);
  }

  /** qemu's arguments for the server: its disks, config drive, restricted network, serial console and QMP socket. */
  private args(r: ServerRecord): string[] {
    const accel = accelOf(this.c);
    const f = (name: string) => this.file(r.id, name);
    const net = [
      'user',
      'id=net0',
      'restrict=on',
      ...r.forwards.map((w) => `guestfwd=tcp:${this.c.bus_address}:${w.guestPort}-cmd:${this.c.socat_bin} - TCP:${w.host}:${w.port}`),
      ...this.c.published_ports.map((p) => `hostfwd=tcp:${r.address}:${p}-:${p}`),
    ];
    return [
      '-name',
      `trove-${r.instanceId}`,
      '-machine',
      `pc,accel=${accel}`,
      '-cpu',
      accel === 'kvm' ? 'host' : 'max',
      '-smp',
      String(Math.max(1, r.flavor.vcpus)),
      '-m',
      String(Math.max(256, r.flavor.ram)),
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      // vda: the server's disk; vdb: the volume (its serial the volume id, as Nova gives it)
      '-drive',
      `file=${f('disk.qcow2')},if=none,id=disk0,format=qcow2,cache=writeback,discard=unmap`,
      '-device',
      'virtio-blk-pci,drive=disk0,bootindex=0',
      ...(r.volumeId
        ? [
            '-drive',
            `file=${this.volumeFile(r.volumeId)},if=none,id=vol0,format=qcow2,cache=writeback`,
            '-device',
            `virtio-blk-pci,drive=vol0,serial=${r.volumeId.slice(0, 20)}`,
          ]
        : []),
      '-drive',
      `file=${f('config.iso')},if=ide,media=cdrom,readonly=on,format=raw`,
      '-netdev',
      net.join(','),
      '-device',
      'virtio-net-pci,netdev=net0',
      '-device',
      'virtio-rng-pci',
      '-chardev',
      `file,id=console0,path=${f('console.log')}`,
      '-serial',
      'chardev:console0',
      '-qmp',
      `unix:${f('qmp.sock')},server=on,wait=off`,
      '-pidfile',
      f('qemu.pid'),
      '-daemonize',
    ];
  }

  /** Starts qemu (daemonized: the call returns once the VM runs, or fails with qemu's own words). */
  private async start(r: ServerRecord): Promise<void> {
    rmSync(this.file(r.id, 'qemu.pid'), { force: true });
    try {
      await run(this.c.qemu_bin, this.args(r), { timeout: 120_000, cwd: this.dir(r.id) });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`qemu could not start the server: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' | ')}`, { cause: err });
    }
    if (r.stopped) this.write({ ...r, stopped: false });
  }

  async getServer(id: string): Promise<Server> {
    const r = this.read(id);
    const up = alive(this.pid(id));
    return {
      id,
      status: up ? 'ACTIVE' : r.stopped ? 'SHUTOFF' : 'ERROR',
      addresses: [{ address: r.address, type: 'private', network: 'qemu-user' }],
      fault: up || r.stopped ? undefined : 'the virtual machine (qemu) is not running',
    };
  }

  async findServerForInstance(instanceId: string): Promise<Server | undefined> {
    return existsSync(this.file(instanceId, 'server.json')) ? this.getServer(instanceId) : undefined;
  }

  /** Powers the VM off: ACPI first (the guest shuts down cleanly), then qemu is stopped. */
  private async powerOff(id: string): Promise<void> {
    const pid = this.pid(id);
    if (!alive(pid)) return;
    if (this.c.shutdown_timeout > 0) {
      const asked = await qmp(this.file(id, 'qmp.sock'), 'system_powerdown').then(
        () => true,
        () => false,
      );
      for (const until = Date.now() + this.c.shutdown_timeout * 1000; asked && alive(pid) && Date.now() < until;) await sleep(250);
    }
    if (alive(pid)) process.kill(pid!, 'SIGTERM');
    for (const until = Date.now() + 10_000; alive(pid) && Date.now() < until;) await sleep(100);
    if (alive(pid)) process.kill(pid!, 'SIGKILL');
    for (const until = Date.now() + 5_000; alive(pid) && Date.now() < until;) await sleep(100);
  }

  async deleteServer(id: string): Promise<void> {
    if (!existsSync(this.dir(id))) return;
    await this.powerOff(id);
    const address = existsSync(this.file(id, 'server.json')) ? this.read(id).address : undefined;
    rmSync(this.dir(id), { recursive: true, force: true });
    if (address) this.addresses.release(address, id);
  }

  async rebootServer(id: string): Promise<void> {
    const r = this.read(id);
    if (alive(this.pid(id))) await qmp(this.file(id, 'qmp.sock'), 'system_reset');
    else await this.start(r);
  }

  async rebuildServer(id: string, imageId: string): Promise<void> {
    throw new Error(`server ${id}: the qemu compute driver does not rebuild servers (image ${imageId})`);
  }

  /** Recorded: the VM gets the flavor's memory and CPUs at its next start. */
  async resizeServer(id: string, flavor: Flavor): Promise<void> {
    this.write({ ...this.read(id), flavor });
  }

  async confirmResize(): Promise<void> {
    /* nothing to confirm */
  }

  /** The serial console (kernel, boot and guest agent lines). */
  async consoleOutput(id: string, lines: number): Promise<string> {
    if (!existsSync(this.dir(id))) throw new ComputeNotFoundError('server', id);
    return tailLines(this.file(id, 'console.log'), lines);
  }
}

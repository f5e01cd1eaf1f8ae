// The config drive a qemu guest boots with, as Nova makes it: an ISO 9660 filesystem labelled
// config-2 holding openstack/latest/meta_data.json and user_data (the same cloud-config Nova's
// driver sends: src/clients/openstack/nova-servers.ts). The guest's bus address is its view of
// the bus through the VM's user-mode network: each transport_url host becomes a guestfwd.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { userData } from '../openstack/nova-servers.js';

const run = promisify(execFile);

/** A guest port at `busAddress` that qemu connects to `host:port` on this machine. */
export interface BusForward {
  guestPort: number;
  host: string;
  port: number;
}

/**
 * The guest config with its transport_url pointed at `busAddress` (one guest port per broker,
 * 5672 up), and the forwards that make that work. Only rabbit:// reaches a VM: the all-in-one's
 * unix-socket bus is on this machine's filesystem.
 */
export function guestBusView(guestConfig: string, busAddress: string): { config: string; forwards: BusForward[] } {
  const forwards: BusForward[] = [];
  const config = guestConfig.replace(/^([ \t]*transport_url[ \t]*=[ \t]*)(\S+)[ \t]*$/m, (_line, head: string, url: string) => {
    const m = /^rabbit:\/\/([^/?]+)(.*)$/.exec(url);
    if (!m) throw new Error('the qemu compute driver needs a rabbit:// transport_url: a guest in a virtual machine cannot reach a unix-socket bus');
    const hosts = m[1]!.split(',').map((part) => {
      const at = part.lastIndexOf('@');
      const creds = at >= 0 ? part.slice(0, at + 1) : '';
      const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(part.slice(at + 1));
      if (!hp) throw new Error('the transport_url has a host the qemu compute driver cannot forward');
      const forward = { guestPort: 5672 + forwards.length, host: hp[1]!.replace(/^\[|\]$/g, ''), port: Number(hp[2] ?? 5672) };
      forwards.push(forward);
      return `${creds}${busAddress}:${forward.guestPort}`;
    });
    return `${head}rabbit://${hosts.join(',')}${m[2]}`;
  });
  return { config, forwards };
}

/** Writes the config drive (0600: it holds the guest's bus password and keys) to `file`. */
export async function makeConfigDrive(
  file: string,
  o: { instanceId: string; name: string; guestConfig: string; mkisofs: string; availabilityZone?: string | undefined },
): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'trove-config-drive-'));
  try {
    const latest = path.join(dir, 'openstack', 'latest');
    mkdirSync(latest, { recursive: true, mode: 0o700 });
    const hostname =
      o.name
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 63) || 'trove-guest';
    const meta = {
      uuid: o.instanceId,
      name: o.name,
      hostname,
      launch_index: 0,
      availability_zone: o.availabilityZone ?? 'nova',
      meta: { trove_instance_id: o.instanceId },
    };
    writeFileSync(path.join(latest, 'meta_data.json'), JSON.stringify(meta), { mode: 0o600 });
    writeFileSync(path.join(latest, 'user_data'), Buffer.from(userData(o.guestConfig), 'base64'), { mode: 0o600 });
    writeFileSync(file, '', { mode: 0o600 });
    chmodSync(file, 0o600);
    await run(o.mkisofs, ['-quiet', '-o', file, '-V', 'config-2', '-J', '-R', '-input-charset', 'utf-8', dir], { timeout: 60_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

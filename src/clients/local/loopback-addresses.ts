// Loopback addresses for servers on this machine (127.0.<subnet>.2-254): each claimed by a file
// created exclusively, so two creates (or two taskmanagers) never share one, and handed out only
// when every port an engine may listen on is free there. The local driver's guest agents and the
// qemu driver's published ports listen on them.
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, address, () => s.close(() => resolve(true)));
  });
}

export class LoopbackAddresses {
  /**
   * `claimsDir`: where the claim files live; `serverExists(id)`: whether the server that claimed
   * an address still exists (a claim of a server that is gone is stale); `used()`: addresses
   * servers hold through their own records (made before claim files existed).
   */
  constructor(
    private readonly o: {
      claimsDir: string;
      subnet: number;
      probePorts: string[];
      serverExists(id: string): boolean;
      used?(exceptId: string): Set<string>;
    },
  ) {}

  private claimFile(address: string): string {
    return path.join(this.o.claimsDir, address);
  }

  /** Claims the address for server `id`; false when another live server holds it. */
  private claim(address: string, id: string): boolean {
    const file = this.claimFile(address);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, id, { flag: 'wx' });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = readFileSync(file, 'utf8');
        if (owner === id) return true;
        // a server's directory exists from before its claim until after its release: no directory, a stale claim
        if (!owner || this.o.serverExists(owner)) return false;
        rmSync(file, { force: true });
      }
    }
    return false;
  }

  release(address: string, id: string): void {
    const file = this.claimFile(address);
    if (existsSync(file) && readFileSync(file, 'utf8') === id) rmSync(file, { force: true });
  }

  async allocate(id: string): Promise<string> {
    mkdirSync(this.o.claimsDir, { recursive: true });
    const used = this.o.used?.(id) ?? new Set<string>();
    for (let host = 2; host < 255; host++) {
      const address = `127.0.${this.o.subnet}.${host}`;
      if (used.has(address) || !this.claim(address, id)) continue;
      const free = await Promise.all(this.o.probePorts.map((p) => canBind(address, Number(p))));
      if (free.every(Boolean)) return address;
      this.release(address, id); // something outside trove-ts listens there
    }
    throw new Error('no free loopback address left for a local instance');
  }
}

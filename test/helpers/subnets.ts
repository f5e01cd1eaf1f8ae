// A loopback subnet (127.0.N.0/24) of its own for each control plane or all-in-one a test starts:
// test files run concurrently, and two of them handing out 127.0.N.2 at the same moment both see
// it free (probing binds the ports only for an instant) and start two engines on one address.
// Claimed by an exclusive file in a directory every test process shares, held until released or
// until this worker exits; a claim whose process is gone is taken over.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export interface SubnetClaims {
  claim(): number;
  release(n: number): void;
}

/** Claims of the subnets first..last, as files in `dir`. */
export function subnetClaims(dir: string, first: number, last: number): SubnetClaims {
  const mine = new Set<number>();
  let installed = false;
  const file = (n: number) => path.join(dir, String(n));

  const take = (n: number): boolean => {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file(n), String(process.pid), { flag: 'wx' });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        let owner: number;
        try {
          const text = readFileSync(file(n), 'utf8');
          // an empty file: its owner is writing it, or died in that instant (then stale after a while)
          owner = text ? Number(text) : Date.now() - statSync(file(n)).mtimeMs < 10_000 ? -1 : 0;
        } catch {
          continue; // released meanwhile: try again
        }
        if (owner === -1 || (owner > 0 && alive(owner))) return false;
        rmSync(file(n), { force: true }); // stale: its process is gone
      }
    }
    return false;
  };

  const release = (n: number): void => {
    if (!mine.delete(n)) return;
    try {
      if (readFileSync(file(n), 'utf8') === String(process.pid)) rmSync(file(n), { force: true });
    } catch {
      // already gone
    }
  };

  return {
    claim() {
      mkdirSync(dir, { recursive: true, mode: 0o777 });
      if (!installed) {
        installed = true;
        process.on('exit', () => [...mine].forEach(release));
      }
      const span = last - first + 1;
      const start = Math.floor(Math.random() * span);
      for (let i = 0; i < span; i++) {
        const n = first + ((start + i) % span);
        if (!mine.has(n) && take(n)) {
          mine.add(n);
          return n;
        }
      }
      throw new Error(`every test subnet 127.0.${first}-${last}.0 is claimed (${dir})`);
    },
    release,
  };
}

/** 100-249: src/clients/local/compute.test.ts keeps 250-254, and the all-in-one's default 77 is a person's. */
const shared = subnetClaims(path.join(tmpdir(), 'trove-test-subnets'), 100, 249);

/** A subnet no other running test process holds. */
export const claimSubnet = (): number => shared.claim();
export const releaseSubnet = (n: number): void => shared.release(n);

// Which engines this machine can run, with their real versions (the all-in-one mode offers them).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';

const run = promisify(execFile);

export interface DetectedEngine {
  manager: string;
  /** Full version, e.g. 10.11.19. */
  version: string;
  /** Version name for the datastore version, e.g. 10.11. */
  name: string;
  /** Trove's replication strategy when this machine can build replicas of the engine (the version's repl_strategy). */
  replicationStrategy?: string;
}

export async function versionOf(bin: string, pattern: RegExp): Promise<string | undefined> {
  if (!existsSync(bin)) return undefined;
  try {
    const { stdout, stderr } = await run(bin, ['--version'], { timeout: 10_000 });
    return pattern.exec(`${stdout}${stderr}`)?.[1];
  } catch {
    return undefined;
  }
}

export const majorMinor = (v: string) => v.split('.').slice(0, 2).join('.');

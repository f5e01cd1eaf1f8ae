// The agent's own files (passwords, option files with credentials, its state): 0600 and the
// agent's, whatever was at that path before, so that the engine's OS user cannot read them.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes `body` to a new file beside `file` (exclusive create, mode 0600, owned by the agent) and
 * renames it over `file`: an older file of wider mode or another owner is replaced, not reused
 * (writeFileSync's mode applies only to a file it creates), and no reader sees half a file.
 */
export function writePrivateFile(file: string, body: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}`);
  try {
    writeFileSync(tmp, body, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

// Runs one of the project's bins as a child process and collects its output.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './reap.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface BinResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBin(bin: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${REPO}bin/${bin}.js`, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killOnExit(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

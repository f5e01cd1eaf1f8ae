// Runs one of the project's bins as a child process and collects its output. The bins run the
// compiled tree (dist/): importing this module (as every helper that spawns our processes does, for
// REPO) first builds it when the sources changed since (tools/build/build.js; quick when they did
// not, once per test process), so a test never runs yesterday's code.
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './reap.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

try {
  execFileSync(process.execPath, [`${REPO}tools/build/build.js`], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
} catch (err) {
  const e = err as { stderr?: string; message: string };
  throw new Error(`building dist/ for the processes the tests spawn failed: ${e.stderr || e.message}`, { cause: err });
}

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

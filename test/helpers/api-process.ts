// trove-api as a real child process (bin/trove-api.js --config-file <temp file>) on a free port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { REPO } from './run-bin.js';
import { killOnExit } from './reap.js';

export type ConfSections = Record<string, Record<string, string>>;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function writeConf(sections: ConfSections): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'trove-conf-'));
  const file = path.join(dir, 'trove.conf');
  const text = Object.entries(sections)
    .map(
      ([name, kv]) =>
        `[${name}]\n${Object.entries(kv)
          .map(([k, v]) => `${k} = ${v}`)
          .join('\n')}\n`,
    )
    .join('\n');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

export function mergeConf(...parts: ConfSections[]): ConfSections {
  const out: ConfSections = {};
  for (const p of parts) for (const [s, kv] of Object.entries(p)) out[s] = { ...(out[s] ?? {}), ...kv };
  return out;
}

export interface ApiProcess {
  url: string;
  port: number;
  /** trove-api's process (with trove_api_workers > 1, the primary that supervises the workers). */
  pid: number;
  confFile: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startApiProcess(sections: ConfSections): Promise<ApiProcess> {
  const port = await freePort();
  const confFile = writeConf(
    mergeConf({ DEFAULT: { bind_host: '127.0.0.1', bind_port: String(port), allow_insecure_default_keys: 'true', trove_api_workers: '1' } }, sections),
  );
  const child: ChildProcess = spawn(process.execPath, [`${REPO}bin/trove-api.js`, '--config-file', confFile], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`trove-api exited (${child.exitCode}): ${out}`);
    const ok = await axios.get(`${url}/`, { timeout: 1000, validateStatus: () => true }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`trove-api did not answer on ${url} within 30 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    pid: child.pid!,
    confFile,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

// A new guest agent package installed over the running agent's code (the image's
// /opt/trove-guestagent): downloaded (an http(s) URL, e.g. a Swift object's, or a file), its sha256
// checked when given, unpacked beside the installed code, started once with --version (a package
// whose agent cannot start is refused), then swapped in (the old code kept as <dir>.old). Any
// failure leaves the installed code as it was and says why.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import path from 'node:path';

const run = promisify(execFile);

/** The agent's entry in a package (as the image's bundle names it). */
export const AGENT_ENTRY = 'trove-guestagent.mjs';

export interface AgentPackage {
  location: string;
  /** its sha256 in hex (optionally prefixed `sha256:`) */
  checksum?: string | null | undefined;
}

export interface InstallOptions {
  /** the Node.js that runs the new agent (default: this one) */
  node?: string;
  timeoutMs?: number;
}

/** A location as a message may show it: no credentials, no query (a temp URL's signature). */
export function shownLocation(location: string): string {
  return location.replace(/\/\/[^@/]*@/, '//').replace(/\?.*$/, '');
}

/** The last lines of a tool's output that say something (no stack frames, no Node.js banner). */
const lastLines = (text: string, n = 3): string =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at ') && !l.startsWith('Node.js v') && l !== '^')
    .slice(-n)
    .join(' | ');

/** Downloads `location` to `file`; its sha256. */
async function download(location: string, file: string): Promise<string> {
  let body: Readable;
  if (/^https?:\/\//.test(location)) {
    // credentials in the URL travel as Basic authorization (fetch refuses them in the URL)
    const url = new URL(location);
    const headers: Record<string, string> = {};
    if (url.username || url.password) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
      url.username = url.password = '';
    }
    const r = await fetch(url, { headers, signal: AbortSignal.timeout(600_000) }).catch((err: Error) => {
      const why = (err.cause as Error | undefined)?.message ?? err.message;
      throw new Error(`it could not be downloaded (${why.split(url.href).join(shownLocation(url.href))})`);
    });
    if (!r.ok || !r.body) throw new Error(`its download answered HTTP ${r.status}`);
    body = Readable.fromWeb(r.body as import('node:stream/web').ReadableStream);
  } else {
    const file = location.startsWith('file:') ? fileURLToPath(location) : location;
    if (!path.isAbsolute(file) || !existsSync(file)) throw new Error('it is neither an http(s) URL nor an existing file');
    body = createReadStream(file);
  }
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(body, hashing, createWriteStream(file, { mode: 0o600 }));
  return hash.digest('hex');
}

/** Installs the package over `installDir`; the new agent's version (what its --version prints). */
export async function installAgentPackage(pkg: AgentPackage, installDir: string, o: InstallOptions = {}): Promise<{ version: string }> {
  const staging = `${installDir}.new`;
  const archive = `${installDir}.download`;
  rmSync(staging, { recursive: true, force: true });
  try {
    mkdirSync(path.dirname(installDir), { recursive: true });
    const digest = await download(pkg.location, archive);
    const want = pkg.checksum?.replace(/^sha256:/i, '').toLowerCase();
    if (want && want !== digest) throw new Error(`its sha256 is ${digest}, not ${want}`);
    mkdirSync(staging, { recursive: true, mode: 0o755 });
    await run('tar', ['-xzf', archive, '-C', staging]).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`it is not a .tar.gz archive (${lastLines(err.stderr || err.message, 1)})`);
    });
    if (!existsSync(path.join(staging, AGENT_ENTRY))) throw new Error(`it has no ${AGENT_ENTRY}`);
    const started = await run(o.node ?? process.execPath, [path.join(staging, AGENT_ENTRY), '--version'], { timeout: o.timeoutMs ?? 60_000 }).catch(
      (err: { stderr?: string; message: string }) => {
        throw new Error(`its agent does not start: ${lastLines(err.stderr || err.message)}`);
      },
    );
    const version = started.stdout.trim().split('\n').pop() ?? '';
    if (!version) throw new Error('its agent printed no version');
    rmSync(`${installDir}.old`, { recursive: true, force: true });
    if (existsSync(installDir)) renameSync(installDir, `${installDir}.old`);
    renameSync(staging, installDir);
    return { version };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`The guest agent package at ${shownLocation(pkg.location)} was not installed: ${(err as Error).message}. The running agent is kept.`, {
      cause: err,
    });
  } finally {
    rmSync(archive, { force: true });
  }
}

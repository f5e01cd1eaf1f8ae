// upgrade_agent on real files and a real HTTP server serving agent packages: a good package is
// installed over the agent's code (the old one kept beside it) and the agent restarts after
// answering; a wrong checksum, a package whose agent cannot start, a missing package or no
// install directory leave the installed code as it was, the agent running, and say why.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../src/common/log.js';
import { guestContract } from '../src/rpc/contracts/guest.js';
import { upgradeHandlers } from './upgrade-handlers.js';
import { NotSupportedError } from './capabilities.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const ctx = { context: {}, method: 'upgrade_agent' };

/** A package (.tar.gz) whose agent runs `entry` (its --version prints what it prints). */
function makePackage(dir: string, name: string, entry: string): Buffer {
  const src = path.join(dir, `src-${name}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'trove-guestagent.mjs'), entry);
  writeFileSync(path.join(src, 'trove-guest-boot.mjs'), '// boot\n');
  const file = path.join(dir, `${name}.tar.gz`);
  execFileSync('tar', ['-czf', file, '-C', src, '.']);
  return readFileSync(file);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a package is downloaded, checked, started once and installed; the agent restarts after answering; bad packages change nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-upgrade-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = makePackage(dir, 'good', "if (process.argv.includes('--version')) console.log('9.9.9');\n");
  const broken = makePackage(dir, 'broken', "throw new Error('cannot find module pg: the package is incomplete');\n");
  const served: Record<string, Buffer> = { '/good.tar.gz': good, '/broken.tar.gz': broken, '/junk.tar.gz': Buffer.from('not an archive') };
  const server = http.createServer((req, res) => {
    const body = served[req.url ?? ''];
    res.writeHead(body ? 200 : 404).end(body ?? 'no such object');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const installDir = path.join(dir, 'opt', 'trove-guestagent');
  mkdirSync(installDir, { recursive: true });
  writeFileSync(path.join(installDir, 'trove-guestagent.mjs'), '// the running agent (old)\n');
  const installed = () => readFileSync(path.join(installDir, 'trove-guestagent.mjs'), 'utf8');
  let restarts = 0;
  const { upgrade_agent } = upgradeHandlers({ log, installDir, restart: () => restarts++, restartDelayMs: 10 });
  const args = (a: unknown) => guestContract.upgrade_agent.args.parse(a);

  // failures: the installed code stays, no restart, and the message says why
  const refused = async (a: unknown, why: RegExp) => {
    const err = await t.throwsAsync(upgrade_agent(args(a), ctx));
    t.regex(err.message, why);
    t.regex(err.message, /The running agent is kept\.$/);
    t.is(installed(), '// the running agent (old)\n');
    t.false(existsSync(`${installDir}.new`));
  };
  await refused({ location: `${base}/good.tar.gz`, checksum: 'a'.repeat(64) }, new RegExp(`its sha256 is ${sha256(good)}, not a{64}`));
  await refused({ location: `${base}/broken.tar.gz` }, /its agent does not start: .*cannot find module pg/);
  await refused({ location: `${base}/missing.tar.gz` }, /HTTP 404/);
  await refused({ location: `${base}/junk.tar.gz` }, /not a \.tar\.gz archive/);
  await refused({ location: 'http://user:secret@127.0.0.1:1/pkg.tar.gz?temp_url_sig=abc' }, /could not be downloaded/);
  const secretShown = await t.throwsAsync(upgrade_agent(args({ location: 'http://user:secret@127.0.0.1:1/pkg.tar.gz?temp_url_sig=abc' }), ctx));
  t.false(secretShown.message.includes('secret'));
  t.false(secretShown.message.includes('temp_url_sig'));
  t.is(restarts, 0);

  // a good package (its checksum given): installed, the old code kept beside it, the agent restarts after its answer
  t.deepEqual(await upgrade_agent(args({ location: `${base}/good.tar.gz`, checksum: `sha256:${sha256(good)}` }), ctx), { version: '9.9.9' });
  t.regex(installed(), /9\.9\.9/);
  t.is(readFileSync(path.join(`${installDir}.old`, 'trove-guestagent.mjs'), 'utf8'), '// the running agent (old)\n');
  t.is(restarts, 0);
  await new Promise((r) => setTimeout(r, 50));
  t.is(restarts, 1);
});

test('an agent without an install directory (the all-in-one) refuses the upgrade as unsupported', async (t) => {
  const { upgrade_agent } = upgradeHandlers({ log, installDir: '', restart: () => t.fail('restarted') });
  await t.throwsAsync(upgrade_agent({ location: 'http://127.0.0.1:1/x.tar.gz', checksum: null }, ctx), {
    instanceOf: NotSupportedError,
    message: /agent_install_dir is not set/,
  });
});

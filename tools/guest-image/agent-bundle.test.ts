// The image's agent bundle is also the guest agent upgrade package: packaged as a .tar.gz, the
// guest's upgrade_agent installs it and it starts (its --version is the package's version).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/common/log.js';
import { upgradeHandlers } from '../../guestagent/upgrade-handlers.js';
import { bundleAgent } from './agent-bundle.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

test("the image's agent bundle, packaged as a .tar.gz, is installed by upgrade_agent and starts with the package's version", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-bundle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = await bundleAgent(path.resolve('.'), path.join(dir, 'cache'));
  const pkg = path.join(dir, 'trove-guestagent.tar.gz');
  execFileSync('tar', ['-czf', pkg, '-C', bundle.dir, '.']);
  const installDir = path.join(dir, 'opt', 'trove-guestagent');
  let restarts = 0;
  const { upgrade_agent } = upgradeHandlers({ log, installDir, restart: () => restarts++, restartDelayMs: 10 });
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
  const checksum = createHash('sha256').update(readFileSync(pkg)).digest('hex');
  t.deepEqual(await upgrade_agent({ location: `file://${pkg}`, checksum }, { context: {}, method: 'upgrade_agent' }), { version });
  t.true(existsSync(path.join(installDir, 'trove-guestagent.mjs')));
  t.true(existsSync(path.join(installDir, 'trove-guest-boot.mjs')));
  await new Promise((r) => setTimeout(r, 50));
  t.is(restarts, 1);
});

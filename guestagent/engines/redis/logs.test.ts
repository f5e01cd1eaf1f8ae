// Redis's guest log on a real redis-server: one SYS log (the server's log file), no USER log to
// enable, published for an administrator with the server's own start lines in it.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/common/log.js';
import { ObjectDirectory } from '../../../src/common/object-directory.js';
import { guestContract } from '../../../src/rpc/contracts/guest.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import type { Engine } from '../../capabilities.js';
import { backupDefaults } from '../../backup/config.js';
import { logHandlers } from '../../log-handlers.js';
import { redisEngine } from './manager.js';
import { reapOnExit } from '../../../test/helpers/reap.js';

const BIN = '/usr/bin/redis-server';
const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const admin = { context: { is_admin: true }, method: 'guest_log_action' };
const member = { context: { is_admin: false }, method: 'guest_log_list' };
let engine: Engine;
let root: string;

if (!existsSync(BIN)) {
  if (process.env.TROVE_TEST_SKIP_ENGINES) test.skip('Redis guest logs (not installed; TROVE_TEST_SKIP_ENGINES is set)', () => undefined);
  else test('Redis is installed', (t) => t.fail(`no ${BIN}: install redis-server, or set TROVE_TEST_SKIP_ENGINES=1`));
} else {
  test.before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'redis-logs-'));
    reapOnExit(root); // a crash of this file leaves no engine running
    chmodSync(root, 0o755);
    mkdirSync(path.join(root, 'state'), { recursive: true });
    const port = await freeTcpPort();
    engine = redisEngine(
      { DEFAULT: {}, redis: { mount_point: path.join(root, 'volume'), port: String(port), bind_host: '127.0.0.1' } },
      path.join(root, 'state'),
      log,
    );
    await engine.lifecycle.prepare({ memoryMb: 256, packages: [], databases: [], users: [], overrides: {} });
  });

  test.after.always(async () => {
    await engine?.lifecycle.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('the server log: hidden from a member, published for an administrator; it cannot be enabled', async (t) => {
    const dir = path.join(root, 'objects');
    const h = logHandlers({ instanceId: 'i-1', engine, log, backupConfig: backupDefaults.parse({ backup_local_dir: dir }) });
    t.deepEqual(await h.guest_log_list({}, member), []);
    const args = (a: Record<string, unknown>) => guestContract.guest_log_action.args.parse({ storage: { driver: 'local' }, ...a });
    await t.throwsAsync(h.guest_log_action(args({ log_name: 'server', enable: 1 }), admin), { message: "Cannot enable a SYSTEM log ('server')." });
    await t.throwsAsync(h.guest_log_action(args({ log_name: 'slowlog', publish: 1 }), admin), { name: 'LogNotFoundError' });
    const p = await h.guest_log_action(args({ log_name: 'server', publish: 1 }), admin);
    t.like(p, { name: 'server', type: 'SYS', status: 'Published', prefix: 'i-1/redis-server/' });
    const objects = new ObjectDirectory(dir);
    let text = '';
    for (const o of await objects.listObjects('database_logs', 'i-1/redis-server/'))
      for await (const c of await objects.getObject('database_logs', o.name)) text += (c as Buffer).toString();
    t.regex(text, /Ready to accept connections/);
  });
}

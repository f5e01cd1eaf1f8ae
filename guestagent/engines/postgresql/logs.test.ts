// Guest logs on a real PostgreSQL server: the logging collector writes the general log from
// prepare on; enabled through the guest verb, a user's statement is in it once published into the
// local object store; the agent's own statements (a password in CREATE ROLE) are not; disabled, no
// more statements are written. The server log (SYS) is for administrators.
import test from 'ava';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createLogger } from '../../../src/common/log.js';
import { ObjectDirectory } from '../../../src/common/object-directory.js';
import { guestContract } from '../../../src/rpc/contracts/guest.js';
import { freeTcpPort } from '../../../test/helpers/ports.js';
import type { Engine } from '../../capabilities.js';
import { backupDefaults } from '../../backup/config.js';
import { logHandlers } from '../../log-handlers.js';
import { findBinDir } from './detect.js';
import { postgresqlEngine } from './manager.js';
import { reapOnExit } from '../../../test/helpers/reap.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const member = { context: { is_admin: false }, method: 'guest_log_action' };
const admin = { context: { is_admin: true }, method: 'guest_log_action' };
let engine: Engine;
let port: number;
let root: string;
let h: ReturnType<typeof logHandlers>;
let objects: ObjectDirectory;

const action = (a: Record<string, unknown>, ctx = member) =>
  h.guest_log_action(guestContract.guest_log_action.args.parse({ storage: { driver: 'local' }, ...a }), ctx);
const asApp = async (sql: string) => {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: 'app-Secret-1', database: 'shop' });
  await c.connect();
  await c.query(sql);
  await c.end();
};
const published = async (name: string) => {
  let text = '';
  for (const o of await objects.listObjects('database_logs', `i-1/postgresql-${name}/`)) {
    for await (const c of await objects.getObject('database_logs', o.name)) text += (c as Buffer).toString();
  }
  return text;
};
/** The collector writes asynchronously: wait until the file has the text. */
const waitForText = async (file: string, re: RegExp) => {
  for (let i = 0; i < 50 && !(existsSync(file) && re.test(readFileSync(file, 'utf8'))); i++) await new Promise((r) => setTimeout(r, 100));
};

if (!findBinDir()) {
  if (process.env.TROVE_TEST_SKIP_ENGINES) test.skip('PostgreSQL guest logs (not installed; TROVE_TEST_SKIP_ENGINES is set)', () => undefined);
  else test('PostgreSQL is installed', (t) => t.fail('no /usr/lib/postgresql/<version>/bin/postgres: install postgresql, or set TROVE_TEST_SKIP_ENGINES=1'));
} else {
  test.before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'postgresql-logs-'));
    reapOnExit(root); // a crash of this file leaves no engine running
    chmodSync(root, 0o755);
    port = await freeTcpPort();
    mkdirSync(path.join(root, 'state'), { recursive: true });
    engine = postgresqlEngine(
      { DEFAULT: {}, postgresql: { mount_point: path.join(root, 'volume'), port: String(port), bind_host: '127.0.0.1' } },
      path.join(root, 'state'),
      log,
    );
    await engine.lifecycle.prepare({
      memoryMb: 512,
      packages: [],
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', host: '%', password: 'app-Secret-1', databases: ['shop'] }],
      overrides: {},
    });
    const dir = path.join(root, 'objects');
    objects = new ObjectDirectory(dir);
    h = logHandlers({ instanceId: 'i-1', engine, log, backupConfig: backupDefaults.parse({ backup_local_dir: dir }) });
  });

  test.after.always(async () => {
    await engine?.lifecycle.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test.serial('list: general for a member, the server log too for an administrator', async (t) => {
    t.deepEqual(
      (await h.guest_log_list({}, member)).map((l) => `${l.name}:${l.type}:${l.status}`),
      ['general:USER:Disabled'],
    );
    t.deepEqual(
      (await h.guest_log_list({}, admin)).map((l) => `${l.name}:${l.type}`),
      ['general:USER', 'server:SYS'],
    );
  });

  test.serial('general: a statement is in it once enabled and published; the agent’s password is not; disabled, statements stop', async (t) => {
    const file = path.join(root, 'volume', 'logs', 'postgresql.log');
    t.not((await action({ log_name: 'general', enable: 1 })).status, 'Disabled');
    await asApp("SELECT 'needle-pg-4711' AS marker");
    await engine.users!.createUsers([{ name: 'planted', host: '%', password: 'Planted-Secret-42', databases: [] }]);
    await waitForText(file, /needle-pg-4711/);
    t.like(await action({ log_name: 'general', publish: 1 }), { container: 'database_logs', prefix: 'i-1/postgresql-general/' });
    const text = await published('general');
    t.regex(text, /statement: SELECT 'needle-pg-4711' AS marker/);
    t.notRegex(text, /Planted-Secret-42/);
    t.is((await action({ log_name: 'general', disable: 1 })).status, 'Disabled');
    await new Promise((r) => setTimeout(r, 300)); // the reload reaches new sessions
    await asApp("SELECT 'after-disable-815'");
    await new Promise((r) => setTimeout(r, 300));
    t.notRegex(readFileSync(file, 'utf8'), /after-disable-815/);
  });

  test.serial('the server log (SYS) is refused to a member and published for an administrator', async (t) => {
    await t.throwsAsync(action({ log_name: 'server', publish: 1 }), { name: 'LogAccessForbiddenError' });
    t.like(await action({ log_name: 'server', publish: 1 }, admin), { type: 'SYS' });
  });
}

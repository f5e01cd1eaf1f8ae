// The guest's log verbs over a fake engine's log files and the real local object store: what each
// status means, numbered objects with their line counts, the metafile, rotation, discard, and
// Trove's refusals (unknown log, SYS enable, not exposed to a non-administrator).
import test from 'ava';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../src/common/log.js';
import { ObjectDirectory } from '../src/common/object-directory.js';
import type { HandlerContext } from '../src/rpc/contract.js';
import { guestContract } from '../src/rpc/contracts/guest.js';
import { InvalidValueError, type Engine, type LogState } from './capabilities.js';
import { backupDefaults } from './backup/config.js';
import { logHandlers, LogAccessForbiddenError, LogNotFoundError } from './log-handlers.js';

const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const admin: HandlerContext = { context: { is_admin: true }, method: 'x' };
const member: HandlerContext = { context: { is_admin: false }, method: 'x' };

function setup(t: { teardown(fn: () => void): void }, limit = 4096) {
  const root = mkdtempSync(path.join(tmpdir(), 'guest-logs-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const files = { general: path.join(root, 'general.log'), error: path.join(root, 'error.log') };
  let general: LogState = 'disabled';
  const engine: Engine = {
    name: 'fakedb',
    lifecycle: {} as Engine['lifecycle'],
    logs: {
      definitions: () => [
        { name: 'general', type: 'USER', file: files.general, exposed: true },
        { name: 'error', type: 'SYS', file: files.error, exposed: false },
      ],
      state: async () => general,
      setEnabled: async (_n, on) => (general = on ? 'enabled' : 'disabled'),
    },
  };
  const objects = path.join(root, 'objects');
  const h = logHandlers({
    instanceId: 'inst-1',
    engine,
    log,
    backupConfig: backupDefaults.parse({ backup_local_dir: objects }),
    guestLogs: { config: { guest_log_container_name: 'database_logs', guest_log_limit: limit }, stateFile: path.join(root, 'guest-logs.json') },
  });
  const action = (a: Record<string, unknown>, ctx = member) =>
    h.guest_log_action(guestContract.guest_log_action.args.parse({ storage: { driver: 'local' }, ...a }), ctx);
  const dir = new ObjectDirectory(objects);
  const read = async (name: string) => {
    const chunks: Buffer[] = [];
    for await (const c of await dir.getObject('database_logs', name)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };
  return { root, files, h, action, dir, read, setGeneral: (s: LogState) => (general = s) };
}

test('list: USER logs for everyone, SYS logs only for administrators; Trove statuses before anything is published', async (t) => {
  const s = setup(t);
  t.deepEqual(
    (await s.h.guest_log_list({}, member)).map((l) => [l.name, l.type, l.status]),
    [['general', 'USER', 'Disabled']],
  );
  const all = await s.h.guest_log_list({}, admin);
  t.deepEqual(
    all.map((l) => [l.name, l.status]),
    [
      ['general', 'Disabled'],
      ['error', 'Unavailable'],
    ],
  );
  t.like(all[0], { published: 0, pending: 0, container: 'None', prefix: 'None', metafile: 'inst-1/fakedb-general_metafile' });
  writeFileSync(s.files.error, 'started\n');
  t.like((await s.h.guest_log_list({}, admin))[1], { status: 'Ready', pending: 8 });
});

test('enable, publish: numbered objects with line counts, a metafile; the next publish only what the log gained', async (t) => {
  const s = setup(t);
  t.is((await s.action({ log_name: 'general', enable: 1 })).status, 'Enabled');
  writeFileSync(s.files.general, 'one\ntwo\nthr');
  t.like(await s.action({ log_name: 'general' }), { status: 'Ready', published: 0, pending: 11 });
  const p = await s.action({ log_name: 'general', publish: 1 });
  // the last line has no end yet: left for the next publish
  t.like(p, { status: 'Partial', published: 8, pending: 3, container: 'database_logs', prefix: 'inst-1/fakedb-general/' });
  t.is(await s.read('inst-1/fakedb-general/log-00000001'), 'one\ntwo\n');
  t.is((await s.dir.headObject('database_logs', 'inst-1/fakedb-general/log-00000001')).metadata.lines, '2');
  appendFileSync(s.files.general, 'ee\nfour\n');
  t.like(await s.action({ log_name: 'general', publish: 1 }), { status: 'Published', published: 19, pending: 0 });
  t.is(await s.read('inst-1/fakedb-general/log-00000002'), 'three\nfour\n');
  const meta = JSON.parse(await s.read('inst-1/fakedb-general_metafile')) as Record<string, unknown>;
  t.like(meta, { log_name: 'general', log_type: 'USER', log_file: s.files.general, log_size: 19, parts: 2 });
});

test('a publish larger than guest_log_limit is cut into several objects at line ends; concatenated they are the log', async (t) => {
  const s = setup(t, 4096);
  await s.action({ log_name: 'general', enable: true });
  const lines = Array.from({ length: 1000 }, (_, i) => `statement number ${i} ${'x'.repeat(i % 50)}\n`).join('');
  writeFileSync(s.files.general, lines);
  const p = await s.action({ log_name: 'general', publish: 1 });
  t.is(p.published, Buffer.byteLength(lines));
  const names = (await s.dir.listObjects('database_logs', 'inst-1/fakedb-general/')).map((o) => o.name);
  t.true(names.length > 5);
  let whole = '';
  for (const n of names) {
    const body = await s.read(n);
    t.true(body.endsWith('\n') && Buffer.byteLength(body) <= 4096, n);
    t.is(Number((await s.dir.headObject('database_logs', n)).metadata.lines), body.split('\n').length - 1);
    whole += body;
  }
  t.is(whole, lines);
});

test('publish enables a disabled USER log (Trove); disable turns it off', async (t) => {
  const s = setup(t);
  writeFileSync(s.files.general, 'a\n');
  t.like(await s.action({ log_name: 'general', publish: 1 }), { status: 'Published', published: 2 });
  t.is(await s.h.guest_log_list({}, member).then((l) => l[0]!.status), 'Published');
  t.is((await s.action({ log_name: 'general', disable: 1 })).status, 'Disabled');
});

test('a rotated log is discarded and published again from its start; discard removes every object and the metafile', async (t) => {
  const s = setup(t);
  await s.action({ log_name: 'general', enable: 1 });
  writeFileSync(s.files.general, 'old line one\nold line two\n');
  await s.action({ log_name: 'general', publish: 1 });
  renameSync(s.files.general, `${s.files.general}.1`);
  writeFileSync(s.files.general, 'new\n');
  t.like(await s.action({ log_name: 'general' }), { status: 'Rotated', pending: 4 });
  t.like(await s.action({ log_name: 'general', publish: 1 }), { status: 'Published', published: 4 });
  t.deepEqual(
    (await s.dir.listObjects('database_logs', 'inst-1/')).map((o) => o.name),
    ['inst-1/fakedb-general/log-00000001', 'inst-1/fakedb-general_metafile'],
  );
  t.is(await s.read('inst-1/fakedb-general/log-00000001'), 'new\n');
  t.like(await s.action({ log_name: 'general', discard: 1 }), { status: 'Ready', published: 0, pending: 4, container: 'None' });
  t.deepEqual(await s.dir.listObjects('database_logs', 'inst-1/'), []);
});

test("what was published is kept in the agent's state file, so a restarted agent continues where it was", async (t) => {
  const s = setup(t);
  writeFileSync(s.files.general, 'a\n');
  await s.action({ log_name: 'general', publish: 1 });
  t.like(JSON.parse(readFileSync(path.join(s.root, 'guest-logs.json'), 'utf8')).general, { size: 2, nextPart: 2 });
});

test('refusals: unknown log (404), SYS enable (400), enable+disable (400), a SYS log for a non-administrator (403), Restart Required shown', async (t) => {
  const s = setup(t);
  await t.throwsAsync(s.action({ log_name: 'audit' }), { instanceOf: LogNotFoundError, message: "Log 'audit' is not defined." });
  await t.throwsAsync(s.action({ log_name: 'error', enable: 1 }, admin), { instanceOf: InvalidValueError, message: "Cannot enable a SYSTEM log ('error')." });
  await t.throwsAsync(s.action({ log_name: 'general', enable: 1, disable: 1 }), { instanceOf: InvalidValueError });
  await t.throwsAsync(s.action({ log_name: 'error', publish: 1 }), { instanceOf: LogAccessForbiddenError });
  writeFileSync(s.files.error, 'boot\n');
  t.like(await s.action({ log_name: 'error', publish: 1 }, admin), { status: 'Published', type: 'SYS' });
  s.setGeneral('restart-required');
  writeFileSync(s.files.general, 'x\n');
  t.is((await s.action({ log_name: 'general' })).status, 'Restart Required');
  await t.throwsAsync(s.action({ log_name: 'general', publish: 1, storage: null }), { instanceOf: InvalidValueError });
});

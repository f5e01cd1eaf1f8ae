import test from 'ava';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { checkSocketPath, defaultRuntimeBase, makeRuntimeDir, runtimeDirFor, SOCKET_PATH_MAX, stateKey } from './runtime-dir.js';

const scratch = () => mkdtempSync(path.join(tmpdir(), 'rtdir-'));

test('the key is 12 hex digits of the resolved state directory: the same for a relative, a dotted and a symlinked spelling, another for another directory', (t) => {
  const root = scratch();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const state = path.join(root, 'state');
  mkdirSync(state);
  symlinkSync(state, path.join(root, 'link'));
  const key = stateKey(state);
  t.regex(key, /^[0-9a-f]{12}$/);
  t.is(stateKey(path.join(root, 'x', '..', 'state')), key);
  t.is(stateKey(path.join(root, 'link')), key);
  t.is(stateKey(path.relative(process.cwd(), state)), key);
  t.not(stateKey(path.join(root, 'other')), key);
});

test('the runtime directory does not grow with the state directory', (t) => {
  const deep = `/${'a-very-deep-directory/'.repeat(20)}state`;
  const rt = runtimeDirFor(deep, '/run/x');
  t.is(rt, `/run/x/${stateKey(deep)}`);
  t.is(runtimeDirFor('/s', '/run/x').length, rt.length);
});

test('default base: /run/trove-ts for root with a writable /run, else <tmp>/trove-ts-<uid>; a configured base wins', (t) => {
  t.is(defaultRuntimeBase({ uid: 0, tmp: '/tmp', runWritable: true }), '/run/trove-ts');
  t.is(defaultRuntimeBase({ uid: 0, tmp: '/tmp', runWritable: false }), '/tmp/trove-ts-0');
  t.is(defaultRuntimeBase({ uid: 1000, tmp: '/var/tmp', runWritable: true }), '/var/tmp/trove-ts-1000');
  t.is(runtimeDirFor('/srv/state', undefined, { uid: 1000, tmp: '/tmp', runWritable: false }), `/tmp/trove-ts-1000/${stateKey('/srv/state')}`);
  t.is(runtimeDirFor('/srv/state', 'rel/base', { uid: 0, tmp: '/tmp', runWritable: true }), path.resolve('rel/base', stateKey('/srv/state')));
});

test('a socket path over 107 bytes is refused naming the path, its length, the limit and the key', (t) => {
  const ok = `/${'x'.repeat(SOCKET_PATH_MAX - 1)}`;
  t.is(checkSocketPath(ok), ok);
  const long = `${ok}y`;
  const err = t.throws(() => checkSocketPath(long), { instanceOf: ConfigError })!;
  t.is(err.message, `the unix socket path ${long} is 108 bytes long, over the kernel's limit of 107 bytes: set [DEFAULT] runtime_dir to a shorter directory`);
  // bytes, not characters
  const wide = `/${'é'.repeat(54)}`;
  t.regex(t.throws(() => checkSocketPath(wide, '[local] runtime_dir'))!.message, /is 109 bytes long.*set \[local\] runtime_dir/);
});

test('makeRuntimeDir: base 0711, the instance directory 0711 around an engine directory 0700, or 0700 alone; made again when gone', (t) => {
  const root = scratch();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const rt = path.join(root, 'base', 'k1');
  const sockDir = makeRuntimeDir(rt, { sub: 'mysql' });
  t.is(sockDir, path.join(rt, 'mysql'));
  t.is(statSync(path.join(root, 'base')).mode & 0o777, 0o711);
  t.is(statSync(rt).mode & 0o777, 0o711);
  t.is(statSync(sockDir).mode & 0o777, 0o700);
  rmSync(path.join(root, 'base'), { recursive: true });
  t.is(makeRuntimeDir(rt, { sub: 'mysql' }), sockDir, 'a reboot emptied /run: made again');
  t.is(statSync(sockDir).mode & 0o777, 0o700);
  const bus = makeRuntimeDir(path.join(root, 'base', 'k2'));
  t.is(statSync(bus).mode & 0o777, 0o700);
});

test('makeRuntimeDir hands the engine directory to the engine user', (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root to chown');
  const root = scratch();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = makeRuntimeDir(path.join(root, 'base', 'k'), { sub: 'redis', owner: { uid: 4242, gid: 4343 } });
  t.is(statSync(dir).uid, 4242);
  t.is(statSync(dir).gid, 4343);
  t.is(statSync(path.dirname(dir)).uid, 0, "the instance directory stays the agent's");
});

test('makeRuntimeDir refuses a runtime directory that is a symlink', (t) => {
  const root = scratch();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'base'));
  mkdirSync(path.join(root, 'elsewhere'));
  symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'base', 'k'));
  t.throws(() => makeRuntimeDir(path.join(root, 'base', 'k'), { key: '[local] runtime_dir' }), {
    instanceOf: ConfigError,
    message: /is not a directory of this user.*\[local\] runtime_dir/,
  });
});

test('makeRuntimeDir refuses a base of another user that others can write to (a planted /tmp/trove-ts-<uid>)', (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root to chown');
  const root = scratch();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const base = path.join(root, 'base');
  mkdirSync(base);
  chownSync(base, 4242, 4242);
  chmodSync(base, 0o777);
  t.throws(() => makeRuntimeDir(path.join(base, 'k')), {
    instanceOf: ConfigError,
    message: new RegExp(`${base} belongs to another user \\(uid 4242\\).*set \\[DEFAULT\\] runtime_dir`),
  });
  chmodSync(base, 0o1777); // sticky, like /tmp: nobody can swap our entry
  t.is(makeRuntimeDir(path.join(base, 'k')), path.join(base, 'k'));
});

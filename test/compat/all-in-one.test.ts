// The README's first command (`trove-api --all-in-one`, i.e. npm start) started by the test: the
// real python-troveclient with the admin token creates an instance, a real mysql client writes
// and reads a row, restart, delete; the service restarts with its instances; one server per
// state directory; bad starts fail clearly.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, runBin } from '../helpers/run-bin.js';
import { cliSync as cli, reapAio, startAio, stopAio, waitListed, waitShow } from '../helpers/all-in-one.js';
import { freePort } from '../helpers/api-process.js';

test.serial('all-in-one: CLI create → mysql row → restart the service → restart → delete', async (t) => {
  const state = mkdtempSync(path.join(tmpdir(), 'aio-'));
  chmodSync(state, 0o755);
  const port = await freePort();
  let aio = await startAio(state, port);
  t.teardown(async () => {
    await reapAio(aio, state);
    rmSync(state, { recursive: true, force: true });
  });
  t.regex(aio.out(), /openstack datastore list/);
  const ds = JSON.parse(cli(aio, 'datastore', 'list', '-f', 'json')) as Array<{ Name: string }>;
  t.true(
    ds.some((d) => d.Name === 'mariadb'),
    'the installed MariaDB is offered',
  );

  cli(
    aio,
    'database',
    'instance',
    'create',
    'db1',
    '--flavor',
    'ds1G',
    '--size',
    '1',
    '--datastore',
    'mariadb',
    '--databases',
    'shop',
    '--users',
    'app:Aio-Secret-9',
  );
  // the project's own wait tool prints progress lines until the instance is ready
  const waited = execFileSync(process.execPath, [`${REPO}bin/trove-wait.js`, 'db1', '--timeout', '120'], {
    env: { PATH: process.env.PATH, OS_ENDPOINT: `${aio.url}/v1.0/admin`, OS_TOKEN: readFileSync(path.join(state, 'admin-token'), 'utf8').trim() },
  }).toString();
  t.regex(waited, /^\[\s*\d+\.\ds\] db1 is ACTIVE guest HEALTHY at 127\.0\.\d+\.\d+$/m);
  const shown = await waitShow(aio, 'db1', (s) => s.status === 'ACTIVE' && s.operating_status === 'HEALTHY');
  const ip = /127\.0\.\d+\.\d+/.exec(JSON.stringify(shown))![0];
  t.is(
    execFileSync('mariadb', [
      '-h',
      ip,
      '-u',
      'app',
      '-pAio-Secret-9',
      'shop',
      '-N',
      '-e',
      'CREATE TABLE t (v TEXT); INSERT INTO t VALUES ("kept"); SELECT v FROM t',
    ])
      .toString()
      .trim(),
    'kept',
  );

  // the detected MariaDB (with mariadb-backup) offers replicas: one built from db1 has its row
  cli(aio, 'database', 'instance', 'create', 'db1-copy', '--replica-of', 'db1');
  const copy = await waitShow(aio, 'db1-copy', (s) => (s.status === 'ACTIVE' && s.operating_status === 'HEALTHY') || s.status === 'ERROR');
  t.is(copy.status, 'ACTIVE', JSON.stringify(copy));
  const copyIp = /127\.0\.\d+\.\d+/.exec(JSON.stringify(copy))![0];
  t.not(copyIp, ip);
  t.is(execFileSync('mariadb', ['-h', copyIp, '-u', 'app', '-pAio-Secret-9', 'shop', '-N', '-e', 'SELECT v FROM t']).toString().trim(), 'kept');
  cli(aio, 'database', 'instance', 'delete', 'db1-copy');
  const names = () => (JSON.parse(cli(aio, 'database', 'instance', 'list', '-f', 'json')) as Array<{ Name: string }>).map((i) => i.Name);
  await waitListed(aio, (n) => !n.includes('db1-copy'));
  t.deepEqual(names(), ['db1']);

  // its own keys, never Trove's published defaults: made at the first start (0600), kept across starts
  const keysFile = path.join(state, 'service-keys.json');
  const keys = readFileSync(keysFile, 'utf8');
  t.is(statSync(keysFile).mode & 0o777, 0o600);
  for (const v of Object.values(JSON.parse(keys) as Record<string, string>)) {
    t.true(v.length >= 40);
    t.false(['bzH6y0SGmjuoY0FNSTptrhgieGXNDX6PIhvz', 'emYjgHFqfXNB1NGehAFIUeoyw4V4XwWHEaKP'].includes(v));
  }

  // each guest's config names its own bus user (issue 12): no bare socket path anyone could use
  const id = String(shown.id);
  const guestConf = path.join(state, 'local', 'servers', id, 'guest.conf');
  const busLine = /^transport_url = (.*)$/m.exec(readFileSync(guestConf, 'utf8'))![1]!;
  t.regex(busLine, new RegExp(`^unix://trove-guest-${id}:[A-Za-z0-9_-]{32}@/.+/bus\\.sock$`));
  const busUsers = () => Object.keys(JSON.parse(readFileSync(path.join(state, 'bus-users.json'), 'utf8')) as object);
  t.deepEqual(busUsers(), [id], "the replica's user went with it");
  t.is(statSync(path.join(state, 'bus-users.json')).mode & 0o777, 0o600);

  // stopping the service stops every instance; starting it again brings them back
  t.is(await stopAio(aio), 0);
  // ...even one made before guests had bus users (a bare unix:/// in its guest.conf, no user)
  writeFileSync(guestConf, readFileSync(guestConf, 'utf8').replace(busLine, `unix://${busLine.split('@')[1]}`));
  writeFileSync(path.join(state, 'bus-users.json'), '{}');
  t.throws(() => execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pAio-Secret-9', '--connect-timeout=2', '-e', 'SELECT 1'], { stdio: 'pipe' }));
  aio = await startAio(state, port);
  await waitShow(aio, 'db1', (s) => s.status === 'ACTIVE' && s.operating_status === 'HEALTHY');
  let value = '';
  for (let i = 0; i < 30 && value !== 'kept'; i++) {
    try {
      value = execFileSync('mariadb', ['-h', ip, '-u', 'app', '-pAio-Secret-9', 'shop', '-N', '-e', 'SELECT v FROM t'], { stdio: 'pipe' }).toString().trim();
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  t.is(value, 'kept');
  t.is(readFileSync(keysFile, 'utf8'), keys, 'the same keys after a restart (its instances still talk to it)');
  t.regex(readFileSync(guestConf, 'utf8'), new RegExp(`^transport_url = unix://trove-guest-${id}:[^@]+@/`, 'm'), 'the old instance got a bus user');
  t.deepEqual(busUsers(), [id]);

  cli(aio, 'database', 'instance', 'restart', 'db1');
  await waitShow(aio, 'db1', (s) => s.status === 'ACTIVE' && s.operating_status === 'HEALTHY');
  cli(aio, 'database', 'instance', 'delete', 'db1');
  await waitListed(aio, (n) => n.length === 0);
  t.deepEqual(JSON.parse(cli(aio, 'database', 'instance', 'list', '-f', 'json')), []);
  t.deepEqual(readdirSync(path.join(state, 'local', 'servers')), [], 'the instance directory is gone');
  t.deepEqual(busUsers(), [], 'its bus user is gone');
  t.deepEqual(existsSync(path.join(state, 'local', 'volumes')) ? readdirSync(path.join(state, 'local', 'volumes')) : [], []);
});

test.serial('all-in-one refuses a second server on one state directory, a taken port, an unwritable state directory', async (t) => {
  const state = mkdtempSync(path.join(tmpdir(), 'aio-'));
  const port = await freePort();
  const aio = await startAio(state, port);
  t.teardown(async () => {
    await stopAio(aio);
    rmSync(state, { recursive: true, force: true });
  });
  const second = await runBin('trove-api', ['--all-in-one', '--state-dir', state, '--port', String(await freePort())]);
  t.is(second.code, 1);
  t.regex(second.stderr, /another all-in-one trove-ts \(pid \d+\) is using/);

  const other = mkdtempSync(path.join(tmpdir(), 'aio-'));
  const taken = await runBin('trove-api', ['--all-in-one', '--state-dir', other, '--port', String(port)]);
  t.is(taken.code, 1);
  t.regex(taken.stderr, new RegExp(`${port} is already in use`));
  t.false(existsSync(path.join(other, 'lock')), 'a failed start leaves no lock behind');

  // (root ignores directory modes, so the unwritable state directory is one under a plain file)
  const file = path.join(other, 'a-file');
  (await import('node:fs')).writeFileSync(file, 'x');
  const underFile = await runBin('trove-api', ['--all-in-one', '--state-dir', path.join(file, 'state'), '--port', String(await freePort())]);
  t.is(underFile.code, 1);
  t.regex(underFile.stderr, /state directory .* is not writable/);
  rmSync(other, { recursive: true, force: true });
});

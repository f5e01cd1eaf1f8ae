// trove-api as a process: a bad configuration names the key and exits non-zero; env overrides.
import test from 'ava';
import { createServer } from 'node:net';
import axios from 'axios';
import { runBin } from '../helpers/run-bin.js';
import { createThrowawayDb } from '../helpers/throwaway-db.js';
import { freePort, startApiProcess, writeConf } from '../helpers/api-process.js';

const base = {
  database: { connection: 'mysql+pymysql://root:@127.0.0.1:3306/mysql' },
  DEFAULT: { admin_token: 'tok-x', bind_host: '127.0.0.1', allow_insecure_default_keys: 'true' },
};

const cases: Array<[string, Record<string, Record<string, string>>, RegExp]> = [
  ['a port that is not a number', { ...base, DEFAULT: { ...base.DEFAULT, bind_port: 'eighty' } }, /trove\.conf \[DEFAULT\] bind_port: expected an integer/],
  [
    'a connection URL of another database',
    { ...base, database: { connection: 'postgresql://x@y/z' } },
    /\[database\] connection: expected mysql\+pymysql:\/\//,
  ],
  ['no Keystone and no admin token', { database: base.database, DEFAULT: { bind_host: '127.0.0.1' } }, /\[keystone_authtoken\] auth_url: not set/],
  ['the admin token on a public address', { ...base, DEFAULT: { admin_token: 'x', bind_host: '0.0.0.0' } }, /admin token mode .* only listens on loopback/],
  [
    'a boolean that is not one',
    { ...base, DEFAULT: { ...base.DEFAULT, trove_volume_support: 'maybe' } },
    /\[DEFAULT\] trove_volume_support: expected true or false/,
  ],
];

for (const [name, conf, message] of cases) {
  test(`invalid config (${name}) exits 1 naming the key`, async (t) => {
    const r = await runBin('trove-api', ['--config-file', writeConf(conf)], {}, 30_000);
    t.is(r.code, 1);
    t.regex(r.stderr, message);
  });
}

test('a missing config file and an unknown option are refused', async (t) => {
  const missing = await runBin('trove-api', ['--config-file', '/no/such.conf']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /config file \/no\/such\.conf: ENOENT/);
  const unknown = await runBin('trove-api', ['--frobnicate']);
  t.is(unknown.code, 2);
});

test('a port already taken is reported as such', async (t) => {
  const port = await freePort();
  const blocker = createServer().listen(port, '127.0.0.1');
  t.teardown(() => blocker.close());
  const r = await runBin('trove-api', ['--config-file', writeConf({ ...base, DEFAULT: { ...base.DEFAULT, bind_port: String(port) } })]);
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`bind_port: ${port} is already in use`));
});

test('TROVE__SECTION__KEY overrides the file', async (t) => {
  const tdb = await createThrowawayDb();
  const api = await startApiProcess({ ...base, database: { connection: tdb.url } });
  t.teardown(async () => {
    await api.stop();
    await tdb.drop();
  });
  const ok = await axios.get(`${api.url}/v1.0/admin/datastores`, { headers: { 'X-Auth-Token': 'tok-x' }, validateStatus: () => true });
  t.is(ok.status, 200);
  const port = await freePort();
  const r = runBin('trove-api', ['--config-file', api.confFile], { TROVE__DEFAULT__BIND_PORT: String(port), TROVE__DEFAULT__ADMIN_TOKEN: 'tok-env' }, 8000);
  let up = false;
  for (let i = 0; i < 40 && !up; i++) {
    await new Promise((res) => setTimeout(res, 200));
    up = await axios.get(`http://127.0.0.1:${port}/v1.0/admin/datastores`, { headers: { 'X-Auth-Token': 'tok-env' }, validateStatus: () => true }).then(
      (x) => x.status === 200,
      () => false,
    );
  }
  t.true(up, 'the env port and token were used');
  await r;
});

test("Trove's published default keys are refused at start, naming the key; the tests-only flag allows them", async (t) => {
  const { allow_insecure_default_keys: _, ...defaults } = base.DEFAULT;
  const conf = { ...base, DEFAULT: defaults };
  const api = await runBin('trove-api', ['--config-file', writeConf(conf)], {}, 30_000);
  t.is(api.code, 1);
  t.regex(api.stderr, /\[DEFAULT\] taskmanager_rpc_encr_key is Trove's published default: set it to a secret of your own.*openssl rand/);
  const tm = await runBin('trove-taskmanager', ['--config-file', writeConf(conf)], {}, 30_000);
  t.is(tm.code, 1);
  t.regex(tm.stderr, /taskmanager_rpc_encr_key is Trove's published default/);
  const own = { ...conf, DEFAULT: { ...defaults, taskmanager_rpc_encr_key: 'an-operator-key-1234567890' } };
  const conductor = await runBin('trove-conductor', ['--config-file', writeConf(own)], {}, 30_000);
  t.is(conductor.code, 1);
  t.regex(conductor.stderr, /\[DEFAULT\] inst_rpc_key_encr_key is Trove's published default/);
  t.false(conductor.stderr.includes('an-operator-key-1234567890'), 'a key never printed');
});

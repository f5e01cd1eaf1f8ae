// The real trove-manage bin against a throwaway MariaDB database: Trove's commands, argument
// order and exit codes.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createThrowawayDb, type ThrowawayDb } from '../../test/helpers/throwaway-db.js';
import { runBin, REPO } from '../../test/helpers/run-bin.js';

let tdb: ThrowawayDb;
let conf: string;
const manage = (...args: string[]) => runBin('trove-manage', ['--config-file', conf, ...args]);

test.before(async () => {
  tdb = await createThrowawayDb({ migrate: false });
  const dir = mkdtempSync(path.join(tmpdir(), 'tm-'));
  conf = path.join(dir, 'trove.conf');
  writeFileSync(conf, `[database]\nconnection = ${tdb.url}\n`);
});
test.after.always(() => tdb?.drop());

test.serial('db_sync creates the schema, a second run is a no-op', async (t) => {
  const first = await manage('db_sync');
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /applied 20261125000000_initial_schema\.ts/);
  const second = await manage('db_sync');
  t.is(second.code, 0);
  t.regex(second.stdout, /up to date/);
});

test.serial('registers a datastore and version, sets the default, loads rules for every engine', async (t) => {
  const v = await manage(
    'datastore_version_update',
    'mariadb',
    '10.11',
    'mariadb',
    '',
    'mariadb-server,mariadb-client',
    '1',
    '--image-tags',
    'trove,mariadb',
    '--version',
    '10.11.19',
  );
  t.is(v.code, 0, v.stderr);
  t.is(v.stdout.trim(), "Datastore version '10.11' created.");
  const again = await manage(
    'datastore_version_update',
    'mariadb',
    '10.11',
    'mariadb',
    '',
    'mariadb-server',
    '1',
    '--image-tags',
    'trove',
    '--version',
    '10.11.19',
  );
  t.is(again.stdout.trim(), "Datastore version '10.11' updated.");
  const d = await manage('datastore_update', 'mariadb', '10.11');
  t.is(d.code, 0, d.stderr);
  const ds = await tdb.db('datastores').where({ name: 'mariadb' }).first();
  const ver = await tdb.db('datastore_versions').where({ datastore_id: ds.id }).first();
  t.is(ds.default_version_id, ver.id);
  t.is(ver.manager, 'mariadb');
  t.is(ver.packages, 'mariadb-server');
  t.is(ver.image_tags, 'trove');
  t.is(ver.version, '10.11.19');
  t.is(Boolean(ver.active), true);
  for (const engine of ['mysql', 'mariadb', 'postgresql', 'redis']) {
    const r = await manage('db_load_datastore_config_parameters', 'mariadb', '10.11', path.join(REPO, 'etc/datastores', engine, 'validation-rules.json'));
    t.is(r.code, 0, `${engine}: ${r.stderr}`);
  }
  const rows = await tdb.db('datastore_configuration_parameters').where({ datastore_version_id: ver.id, name: 'max_connections' });
  t.is(rows.length, 1, 'upserted by name, not duplicated');
  const removed = await manage('db_remove_datastore_config_parameters', 'mariadb', '10.11');
  t.regex(removed.stdout, /Removed \d+ configuration parameters/);
  t.is((await tdb.db('datastore_configuration_parameters').where({ datastore_version_id: ver.id })).length, 0);
});

test.serial('flavor and volume type associations', async (t) => {
  t.is((await manage('datastore_version_flavor_add', 'mariadb', '10.11', 'ds1G,ds2G')).code, 0);
  t.is((await manage('datastore_version_volume_type_add', 'mariadb', '10.11', 'ssd')).code, 0);
  const list = await manage('datastore_version_volume_type_list', 'mariadb', '10.11');
  t.is(list.stdout.trim(), 'ssd');
  t.is((await manage('datastore_version_flavor_delete', 'mariadb', '10.11', 'ds2G')).code, 0);
  const missing = await manage('datastore_version_flavor_delete', 'mariadb', '10.11', 'ds9G');
  t.is(missing.code, 2);
  const flavors = await tdb.db('datastore_version_metadata').where({ key: 'flavor', deleted: false }).select('value');
  t.deepEqual(
    flavors.map((f: { value: string }) => f.value),
    ['ds1G'],
  );
});

test.serial('bad arguments and missing things exit 2 with one clear line', async (t) => {
  const rulesDir = mkdtempSync(path.join(tmpdir(), 'rules-'));
  const badRules = path.join(rulesDir, 'bad.json');
  writeFileSync(badRules, JSON.stringify({ 'configuration-parameters': [{ name: 'x', type: 'blob', restart_required: false }] }));
  const cases: Array<[string[], RegExp]> = [
    [['datastore_update', 'mariadb', '9.9'], /Datastore version '9.9' cannot be found/],
    [['datastore_version_update', 'mariadb', '10.11', 'mariadb'], /missing required argument/],
    [['datastore_version_update', 'mariadb', '10.11', 'mariadb', 'img', '', 'yes'], /active must be 0 or 1/],
    [['datastore_version_update', 'mariadb', '10.11', 'mariadb', '', '', '1'], /image id or --image-tags is required/],
    [['db_load_datastore_config_parameters', 'nosuch', '1', badRules], /Invalid rules file .*type/],
    [
      ['db_load_datastore_config_parameters', 'nosuch', '1', path.join(REPO, 'etc/datastores/mysql/validation-rules.json')],
      /Datastore 'nosuch' cannot be found/,
    ],
    [['db_load_datastore_config_parameters', 'mariadb', '10.11', '/no/such/file.json'], /Cannot read the rules file/],
    [['datastore_update', 'a', 'b', 'c'], /too many arguments|unknown/],
    [['db_downgrade'], /not supported/],
    [['no_such_command'], /unknown command/],
  ];
  for (const [args, message] of cases) {
    const r = await manage(...args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
  }
  const badConf = await runBin('trove-manage', ['--config-file', '/no/such/trove.conf', 'db_sync']);
  t.is(badConf.code, 2);
  t.regex(badConf.stderr, /\/no\/such\/trove\.conf/);
});

import test from 'ava';
import { InvalidValueError } from '../../capabilities.js';
import { checkOverrides } from './configuration.js';
import { baseSettings, effectiveSettings, renderMyCnf, serverIdFor } from './config.js';

test('override names are option names; values scalars without control characters', (t) => {
  t.deepEqual(checkOverrides({ max_connections: 200, character_set_server: 'utf8mb4', performance_schema: true }), {
    max_connections: 200,
    character_set_server: 'utf8mb4',
    performance_schema: true,
  });
  for (const bad of [{ 'max_connections = 1; DROP': 1 }, { 'Max-Connections': 1 }, { '1abc': 1 }]) {
    t.throws(() => checkOverrides(bad), { instanceOf: InvalidValueError });
  }
  t.throws(() => checkOverrides({ datadir: '/tmp' }), { instanceOf: InvalidValueError, message: /managed by the guest agent/ });
  t.throws(() => checkOverrides({ read_only: 1 }), { instanceOf: InvalidValueError });
  for (const owned of ['secure_file_priv', 'plugin_dir', 'init_file', 'plugin_load_add']) {
    t.throws(() => checkOverrides({ [owned]: '' }), { instanceOf: InvalidValueError, message: /managed by the guest agent/ }, owned);
  }
  t.throws(() => checkOverrides({ 'secure-file-priv': '' }), { instanceOf: InvalidValueError }, 'nor in its other spelling');
  t.throws(() => checkOverrides({ character_set_server: 'x\ninit_file = /tmp/evil.sql' }), { instanceOf: InvalidValueError });
  t.throws(() => checkOverrides({ max_connections: { a: 1 } }), { instanceOf: InvalidValueError });
  t.throws(() => checkOverrides({ max_connections: Number.NaN }), { instanceOf: InvalidValueError });
});

test('my.cnf: the overrides come after the memory defaults, so they win', (t) => {
  const cnf = renderMyCnf(
    {
      mount_point: '/m',
      port: 3306,
      bind_host: '127.0.0.1',
      mysqld_bin: 'x',
      install_db_bin: 'y',
      upgrade_bin: '',
      version_dirs: [],
      init_style: 'install-db',
      run_as: 'mysql',
      start_timeout: 10,
      replica_attach_timeout: 60,
      guest_log_exposed_logs: 'general,slow_query',
      guest_log_long_query_time: 1000,
    },
    {
      dataDir: '/m/data',
      stateDir: '/st',
      runtimeDir: '/r',
      socket: '/s',
      pidFile: '/p',
      cnf: '/c',
      errorLog: '/e',
      tmpDir: '/t',
      adminPasswordFile: '/a',
      filesDir: '/m/files',
      preparedMarker: '/pm',
    },
    512,
    { max_connections: 250, innodb_open_files: 777 },
  );
  const lines = cnf.split('\n');
  t.true(lines.lastIndexOf('max_connections = 250') > lines.findIndex((l) => l.startsWith('max_connections = 50')));
  t.true(lines.includes('innodb_open_files = 777'));
});

test("effective settings: my.cnf's [mysqld] options by name, memory settings and the overrides on top", (t) => {
  const base = baseSettings(
    {
      mount_point: '/m',
      port: 3306,
      bind_host: '127.0.0.1',
      mysqld_bin: 'x',
      install_db_bin: 'y',
      upgrade_bin: '',
      version_dirs: [],
      init_style: 'install-db',
      run_as: 'mysql',
      start_timeout: 10,
      replica_attach_timeout: 60,
      guest_log_exposed_logs: 'general,slow_query',
      guest_log_long_query_time: 1000,
    },
    {
      dataDir: '/m/data',
      stateDir: '/st',
      runtimeDir: '/r',
      socket: '/s',
      pidFile: '/p',
      cnf: '/c',
      errorLog: '/e',
      tmpDir: '/t',
      adminPasswordFile: '/a',
      filesDir: '/m/files',
      preparedMarker: '/pm',
    },
    512,
  );
  const s = effectiveSettings(base, { max_connections: 250, skip_name_resolve: false, character_set_server: 'latin1' });
  t.is(s.max_connections, 250);
  t.is(s.innodb_buffer_pool_size, 256 * 1024 * 1024);
  t.is(s.bind_address, '127.0.0.1');
  t.is(s.port, 3306);
  t.is(s.skip_name_resolve, false, 'an override wins over the base option of the other spelling');
  t.is(s.character_set_server, 'latin1');
  t.false('character-set-server' in s);
});

test("my.cnf: server_id derived from the instance id and a replica's read_only come after the overrides; binary logs in ROW format", (t) => {
  const id = serverIdFor('7c1e0e43-4b1f-4ad7-9f59-0c3f5e4f6a11');
  t.is(id, serverIdFor('7c1e0e43-4b1f-4ad7-9f59-0c3f5e4f6a11'), 'deterministic');
  t.not(id, serverIdFor('7c1e0e43-4b1f-4ad7-9f59-0c3f5e4f6a12'));
  t.true(id >= 1 && id <= 0xfffffffe);
  const cnf = renderMyCnf(
    {
      mount_point: '/m',
      port: 3306,
      bind_host: '127.0.0.1',
      mysqld_bin: 'x',
      install_db_bin: 'y',
      upgrade_bin: '',
      version_dirs: [],
      init_style: 'install-db',
      run_as: 'mysql',
      start_timeout: 10,
      replica_attach_timeout: 60,
      guest_log_exposed_logs: 'general,slow_query',
      guest_log_long_query_time: 1000,
    },
    {
      dataDir: '/m/data',
      stateDir: '/st',
      runtimeDir: '/r',
      socket: '/s',
      pidFile: '/p',
      cnf: '/c',
      errorLog: '/e',
      tmpDir: '/t',
      adminPasswordFile: '/a',
      filesDir: '/m/files',
      preparedMarker: '/pm',
    },
    512,
    { server_id: 1, binlog_format: 'MIXED' },
    undefined,
    { server_id: id, read_only: 1 },
  );
  const lines = cnf.split('\n');
  t.true(lines.indexOf(`server_id = ${id}`) > lines.indexOf('server_id = 1'));
  t.true(lines.includes('read_only = 1'));
  t.true(lines.includes('binlog_format = ROW') && lines.includes('log_bin = mysql-bin') && lines.includes('log_slave_updates = 1'));
});

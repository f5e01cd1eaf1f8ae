// A taskmanager killed while it builds a replica (after the source made the account, during the
// snapshot) is resumed by the next one: the replica goes ACTIVE with the source's rows, one server
// each, no snapshot backup left; the replication password was only sealed in the database and is
// in no log line of the services.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { filesUnder } from '../helpers/files.js';
import { createSource, ipOf, ready, sleep } from '../helpers/replica-set.js';
import { SecretBox } from '../../src/common/secret-box.js';
import { taskmanagerDefaults } from '../../src/taskmanager/config.js';

const PW = 'Resume-app-pw-1';

async function query(ip: string, statement: string): Promise<unknown[]> {
  const c = await mysql.createConnection({ host: ip, user: 'app', password: PW, database: 'shop' });
  try {
    return (await c.query(statement))[0] as unknown[];
  } finally {
    await c.end();
  }
}

/** Absolute paths of the files under a live server directory (MariaDB's temp files come and go meanwhile). */
const filesIn = (dir: string): string[] => filesUnder(dir).map((f) => path.join(dir, f));

test('a taskmanager killed mid-replica is resumed: ACTIVE replica, no snapshot left, password never logged', async (t) => {
  const cp: ControlPlane = await startControlPlane({ inProcessTaskmanager: false, config: { mariadb: { replication_strategy: 'MariaDBGTIDReplication' } } });
  t.teardown(() => cp.stop());
  await registerDatastore(cp.tdb.db);
  const first = cp.spawnTaskmanager();
  for (let i = 0; i < 100 && !cp.logs.join('').includes('trove-taskmanager serving'); i++) await sleep(100);
  const src = await createSource(cp, {
    name: 'rs-src',
    datastore: { type: 'mariadb' },
    databases: [{ name: 'shop' }],
    users: [{ name: 'app', password: PW, databases: [{ name: 'shop' }] }],
  });
  const srcIp = ipOf(src);
  await query(srcIp, 'CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB');
  await query(srcIp, 'INSERT INTO t VALUES (1), (2)');

  const r = await cp.http.post('/instances', { instance: { name: 'rs-copy', replica_of: src.id } });
  t.is(r.status, 200, JSON.stringify(r.data));
  const id = r.data.instance.id as string;
  // kill it once the account exists and the snapshot is being taken (the source's backup flow
  // waiting for its guest: a taskmanager killed in the instant it casts create_backup is a case of
  // the backup flow itself, not of replicas)
  let sealed: string | undefined;
  for (let i = 0; i < 1500 && !sealed; i++) {
    const row = await cp.tdb.db('instances').where({ id }).first('flow_state');
    const state = row?.flow_state ? JSON.parse(row.flow_state) : undefined;
    const source = await cp.tdb.db('instances').where({ id: src.id }).first('flow_state');
    const backup = source?.flow_state ? JSON.parse(source.flow_state) : undefined;
    if (state?.data.sealedMaster && (state.step >= 3 || (backup?.flow === 'backup' && backup.step >= 1))) sealed = state.data.sealedMaster;
    else await sleep(20);
  }
  first.kill('SIGKILL');
  t.truthy(sealed, 'killed while the replica flow was in progress');
  const password = JSON.parse(new SecretBox(taskmanagerDefaults.parse({}).taskmanager_rpc_encr_key).open(sealed!)).password as string;
  t.true(password.length >= 12);
  const mid = await cp.tdb.db('instances').where({ id }).first('flow_state');
  t.false(String(mid.flow_state).includes(password), 'only sealed in the database');

  cp.spawnTaskmanager();
  const seenLogs = new Map<string, string>();
  const poll = setInterval(() => {
    for (const f of filesIn(path.join(cp.stateDir, 'servers')).filter((x) => x.endsWith('.log'))) {
      try {
        seenLogs.set(f, readFileSync(f, 'utf8'));
      } catch {
        // removed meanwhile
      }
    }
  }, 200);
  const active = await waitForInstance(cp.http, id, ready, 300_000);
  clearInterval(poll);
  if (active?.status !== 'ACTIVE') {
    for (const [f, text] of seenLogs) if (f.includes(id)) t.log(f, text.slice(-8000));
  }
  t.is(active?.status, 'ACTIVE', JSON.stringify(active?.fault));
  const copyIp = ipOf(active);
  await query(srcIp, 'INSERT INTO t VALUES (3)');
  let seen: number[] = [];
  for (let i = 0; i < 60 && seen.length < 3; i++, await sleep(500))
    seen = ((await query(copyIp, 'SELECT id FROM t ORDER BY id')) as Array<{ id: number }>).map((x) => x.id);
  t.deepEqual(seen, [1, 2, 3]);
  t.is((await cp.tdb.db('backups').where({ deleted: false })).length, 0, 'no snapshot backup left');
  t.is(readdirSync(path.join(cp.stateDir, 'servers')).length, 2, 'one server for the source, one for the replica');
  t.false(cp.logs.join('').includes(password), "not in the services' logs");
  const guestLogs = filesIn(cp.stateDir).filter((f) => f.endsWith('.log'));
  for (const f of guestLogs) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // rotated away meanwhile
      throw err;
    }
    t.false(text.includes(password), `not in ${path.relative(cp.stateDir, f)}`);
  }
});

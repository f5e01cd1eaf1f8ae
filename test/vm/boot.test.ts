// The VM tier's main path: the mariadb guest image the project builds (trove-manage
// guest_image_build) booted by qemu (compute_driver = qemu; software emulation where the CPU has no
// virtualisation extensions) as the real taskmanager provisions it: its volume a qcow2 disk, its
// config drive made from the guest config the taskmanager renders (its own bus user and RPC key),
// user-mode networking with restrict=on (out: only the guestfwd to this machine's RabbitMQ; in:
// only the engine ports published on its own loopback address). The agent in the VM prepares
// MariaDB and reports through the conductor; the instance goes ACTIVE; the mysql client on this
// machine reads a row through the published port; delete powers the VM off and removes it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startControlPlane, waitForInstance } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { processesUnder } from '../helpers/reap.js';
import { ensureImage } from '../helpers/vm-image.js';
import { vmConfig, vmFigure, vmTest } from '../helpers/vm-tier.js';

const run = promisify(execFile);

vmTest('a VM booted from the built mariadb image becomes an ACTIVE instance, mysql reads a row from it, delete powers it off', async (t) => {
  const image = await ensureImage(t);
  vmFigure(`image build (${image.buildRun.output.includes('up to date') ? 'cached' : 'first'})`, image.buildRun.seconds);
  const cp = await startControlPlane({ config: vmConfig() });
  t.teardown(() => cp.stop());
  await registerDatastore(cp.tdb.db, { name: 'mariadb', version: image.version, imageId: image.id });

  const password = 'vm-app-Pw-4821';
  const started = Date.now();
  const created = await cp.http.post('/instances', {
    instance: {
      name: 'vm-db-1',
      flavorRef: '2',
      volume: { size: 1 },
      datastore: { type: 'mariadb', version: image.version },
      databases: [{ name: 'shop' }],
      users: [{ name: 'app', password, databases: [{ name: 'shop' }] }],
    },
  });
  t.is(created.status, 200, JSON.stringify(created.data));
  const id = created.data.instance.id as string;
  const serverDir = path.join(cp.stateDir, 'servers', id);

  const ready = await waitForInstance(cp.http, id, (i) => i?.status === 'ACTIVE' || i?.status === 'ERROR', 30 * 60_000);
  const bootToActive = (Date.now() - started) / 1000;
  t.is(ready?.status, 'ACTIVE', JSON.stringify(ready?.fault ?? ready));
  vmFigure('boot to ACTIVE', bootToActive);
  t.true(processesUnder(serverDir).length > 0, 'qemu runs the instance');

  // the mysql client of this machine, through the port the VM publishes on its own address
  const ip = (ready!.ip as string[])[0]!;
  t.regex(ip, /^127\.0\.\d+\.\d+$/);
  const mysql = (sql: string) =>
    run('mysql', ['--protocol=tcp', '-h', ip, '-P', '3306', '-u', 'app', '-N', '-B', 'shop', '-e', sql], {
      env: { ...process.env, MYSQL_PWD: password },
      timeout: 120_000,
    });
  await mysql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t VALUES (1, 'written in the VM')");
  const row = await mysql('SELECT v FROM t WHERE id = 1');
  t.is(row.stdout.trim(), 'written in the VM');
  // the server that answered is the VM's, its data on the instance's volume
  const where = await mysql('SELECT @@hostname, @@datadir');
  t.regex(where.stdout, /^trove-guest\t\/var\/lib\/trove\/data\/data\/?\n$/);

  const deleted = await cp.http.delete(`/instances/${id}`);
  t.is(deleted.status, 202);
  await waitForInstance(cp.http, id, (_i, status) => status === 404, 5 * 60_000);
  t.deepEqual(processesUnder(serverDir), [], 'the VM is powered off');
  t.false(existsSync(serverDir), "the server's disk, config drive and console are removed");
  vmFigure('boot test total', (Date.now() - started) / 1000);
});

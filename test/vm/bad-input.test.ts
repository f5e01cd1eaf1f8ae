// The VM tier's bad input: a guest whose bus password is wrong (its agent says why on the console,
// the instance ends ERROR with that reason well before its timeout), and a VM that never boots
// (ERROR once usage_timeout is over, the VM powered off and removed). Each on a control plane of
// its own (their timeouts differ); both VMs run at the same time.
import axios from 'axios';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { registerDatastore } from '../helpers/datastores.js';
import { processesUnder } from '../helpers/reap.js';
import { blankImage, ensureImage } from '../helpers/vm-image.js';
import { vmConfig, vmFigure, vmTest } from '../helpers/vm-tier.js';

async function create(cp: ControlPlane, version: string): Promise<string> {
  const r = await cp.http.post('/instances', {
    instance: { name: 'vm-bad', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb', version }, databases: [{ name: 'shop' }] },
  });
  if (r.status !== 200) throw new Error(`create answered ${r.status}: ${JSON.stringify(r.data)}`);
  return r.data.instance.id as string;
}

/** The instance's server id once the taskmanager created it (its bus user exists by then). */
async function serverOf(cp: ControlPlane, id: string): Promise<string> {
  for (const until = Date.now() + 120_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
    const row = await cp.tdb.db('instances').where({ id }).first('compute_instance_id');
    if (row?.compute_instance_id) return row.compute_instance_id as string;
  }
  throw new Error(`instance ${id} got no server`);
}

vmTest(
  'a config drive with a wrong bus password: the agent says why, the instance ends ERROR with that reason (not a timeout), the VM is removed',
  async (t) => {
    const image = await ensureImage(t);
    const cp = await startControlPlane({ config: vmConfig({ shutdownTimeout: 20 }) });
    t.teardown(() => cp.stop());
    await registerDatastore(cp.tdb.db, { name: 'mariadb', version: image.version, imageId: image.id });
    const started = Date.now();
    const id = await create(cp, image.version);
    const server = await serverOf(cp, id);
    // The config drive was written with the bus user's password; the broker now takes another one
    // (the VM is still in its firmware: nothing has logged in yet). What the guest holds is wrong.
    const user = `trove-guest-${id}`;
    const mgmt = axios.create({ baseURL: 'http://127.0.0.1:15672/api', auth: { username: 'guest', password: 'guest' }, validateStatus: () => true });
    const put = await mgmt.put(`/users/${encodeURIComponent(user)}`, { password: 'not-the-one-in-the-config-drive', tags: '' });
    t.true([201, 204].includes(put.status), `changing the bus user's password answered ${put.status}`);

    const done = await waitForInstance(cp.http, id, (i) => i?.status === 'ERROR' || i?.status === 'ACTIVE', 30 * 60_000);
    const seconds = (Date.now() - started) / 1000;
    t.is(done?.status, 'ERROR');
    const fault = (done?.fault as { message?: string } | undefined)?.message ?? '';
    t.regex(fault, /the guest agent could not start: the message bus refused the guest agent's login/);
    t.regex(fault, /ACCESS.REFUSED/);
    t.notRegex(fault, /timed out|in time/);
    t.true(seconds < 1800, 'ended by the reason, not by usage_timeout');
    vmFigure('wrong bus password to ERROR', seconds);
    t.deepEqual(processesUnder(path.join(cp.stateDir, 'servers', server)), [], 'the VM is powered off');
    t.false(existsSync(path.join(cp.stateDir, 'servers', server)));
  },
);

vmTest('a VM that never boots: ERROR after usage_timeout, the VM powered off and removed', async (t) => {
  t.timeout(15 * 60_000);
  // an image with nothing bootable on it: the firmware never finds a boot sector
  const imageDir = mkdtempSync(path.join(tmpdir(), 'trove-vm-noboot-'));
  t.teardown(() => rmSync(imageDir, { recursive: true, force: true }));
  const id = blankImage(imageDir);
  const usageTimeout = 90;
  const cp = await startControlPlane({ config: vmConfig({ imageDir, usageTimeout, shutdownTimeout: 5 }) });
  t.teardown(() => cp.stop());
  await registerDatastore(cp.tdb.db, { name: 'mariadb', version: '10.11', imageId: id });
  const started = Date.now();
  const instanceId = await create(cp, '10.11');
  const server = await serverOf(cp, instanceId);
  t.true(processesUnder(path.join(cp.stateDir, 'servers', server)).length > 0, 'qemu runs it');
  const done = await waitForInstance(cp.http, instanceId, (i) => i?.status === 'ERROR' || i?.status === 'ACTIVE', 10 * 60_000);
  const seconds = (Date.now() - started) / 1000;
  t.is(done?.status, 'ERROR');
  t.regex(
    (done?.fault as { message?: string } | undefined)?.message ?? '',
    /failed in step wait_guest: The guest agent did not report the database ready in time\./,
  );
  t.true(seconds >= usageTimeout, `not before usage_timeout (${seconds.toFixed(0)} s)`);
  vmFigure(`never-booting VM to ERROR (usage_timeout ${usageTimeout} s)`, seconds);
  t.deepEqual(processesUnder(path.join(cp.stateDir, 'servers', server)), [], 'the VM is powered off');
  t.false(existsSync(path.join(cp.stateDir, 'servers', server)), 'and removed');
});

// A provision resumed in its `server` step after the taskmanager died between creating the server
// and recording it (the faults tier kills it there): the server already made is the instance's,
// and its guest keeps the bus password written into its config then. Rotating that password (as
// the step does for a new server) locked the guest out of the bus, and the create ended in ERROR.
import test from 'ava';
import type { StepContext } from '../flow.js';
import { provisionSteps, type ProvisionData } from './provision.js';
import { fixture, instance } from '../../../test/helpers/taskmanager-fixture.js';

test('a resumed server step adopts the server already made: no new bus password, no second server', async (t) => {
  const f = await fixture(t);
  const id = await instance(f, { server: null });
  const rotated: string[] = [];
  const created: string[] = [];
  Object.assign(f.ctx, {
    guestBus: {
      accounts: { ensureGuest: async (i: string) => void rotated.push(i), removeGuest: async () => undefined },
      transportUrl: () => 'rabbit://guest-user:secret@127.0.0.1:5672/',
    },
  });
  Object.assign(f.ctx.compute, {
    findServerForInstance: async (i: string) => (i === id ? { id: `srv-made-${i}`, status: 'BUILD', addresses: [] } : undefined),
    createServer: async (spec: { instanceId: string }) => {
      created.push(spec.instanceId);
      return { id: `srv-new-${spec.instanceId}`, status: 'BUILD', addresses: [] };
    },
  });
  const step = provisionSteps(f.ctx).find((s) => s.name === 'server')!;
  let saved = 0;
  const s = {
    instanceId: id,
    data: { tenantId: 'proj-r', args: { flavor_id: 'ds1G', nics: [], datastore_manager: 'mariadb', ds_version: '10.11' } },
    deadline: Date.now() + 60_000,
    log: f.ctx.log,
    save: async () => void saved++,
  } as unknown as StepContext<ProvisionData>;
  await step.run(s);
  t.deepEqual(rotated, [], 'the bus password of the guest already running was not changed');
  t.deepEqual(created, [], 'no second server');
  t.is(s.data.serverId, `srv-made-${id}`);
  t.true(saved > 0, 'the adopted server is recorded in the flow state');
  const row = await f.tdb.db('instances').where({ id }).first();
  t.is(row.compute_instance_id, `srv-made-${id}`);
  t.is(row.server_status, 'BUILD');
});

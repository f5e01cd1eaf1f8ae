import test from 'ava';
import nock from 'nock';
import { NeutronLookup } from './neutron.js';
import { BackendUnavailableError } from '../errors.js';

const NEUTRON = 'http://neutron.test:9696';
const lookup = () => new NeutronLookup({ endpoint: async () => NEUTRON, token: async () => 'caller-tok' });

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

test.serial("networks and ports are asked with the caller's token; a 404 is undefined", async (t) => {
  const scope = nock(NEUTRON, { reqheaders: { 'x-auth-token': 'caller-tok' } })
    .get('/v2.0/networks/net-own')
    .reply(200, { network: { id: 'net-own', project_id: 'p' } })
    .get('/v2.0/networks/net-foreign')
    .reply(404, { NeutronError: { message: 'Network net-foreign could not be found.' } })
    .get('/v2.0/ports/port-1')
    .reply(200, { port: { id: 'port-1', tenant_id: 'q', device_id: 'srv-9' } });
  t.deepEqual(await lookup().findNetwork('net-own'), { id: 'net-own' });
  t.is(await lookup().findNetwork('net-foreign'), undefined);
  t.deepEqual(await lookup().findPort('port-1'), { id: 'port-1', projectId: 'q', deviceId: 'srv-9' });
  t.true(scope.isDone());
});

test.serial('an unreachable or failing Neutron is BackendUnavailableError, not not-found', async (t) => {
  nock(NEUTRON).get('/v2.0/networks/n1').replyWithError({ code: 'ECONNREFUSED' }).get('/v2.0/networks/n2').reply(503, {});
  await t.throwsAsync(lookup().findNetwork('n1'), { instanceOf: BackendUnavailableError });
  await t.throwsAsync(lookup().findNetwork('n2'), { instanceOf: BackendUnavailableError });
});

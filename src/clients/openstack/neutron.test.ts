import test from 'ava';
import { silentServer } from '../../../test/helpers/silent-server.js';
import nock from 'nock';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { NeutronLookup } from './neutron.js';
import { BackendUnavailableError } from '../errors.js';

const NEUTRON = 'http://neutron.test:9696';
const lookup = () => new NeutronLookup({ endpoint: async () => NEUTRON, token: async () => 'caller-tok' });

test.before(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
});
test.afterEach.always(() => nock.cleanAll());
test.after.always(() => nock.enableNetConnect());

test.serial("networks are asked with the caller's token; a 404 is undefined", async (t) => {
  const scope = nock(NEUTRON, { reqheaders: { 'x-auth-token': 'caller-tok' } })
    .get('/v2.0/networks/net-own')
    .reply(200, { network: { id: 'net-own', project_id: 'p' } })
    .get('/v2.0/networks/net-foreign')
    .reply(404, { NeutronError: { message: 'Network net-foreign could not be found.' } });
  t.deepEqual(await lookup().findNetwork('net-own'), { id: 'net-own' });
  t.is(await lookup().findNetwork('net-foreign'), undefined);
  t.true(scope.isDone());
});

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test.serial('a refused connection or a failing Neutron is BackendUnavailableError, not not-found', async (t) => {
  // a real refused connection (nock's replyWithError left axios waiting for its timeout)
  const refused = `http://127.0.0.1:${await closedPort()}`;
  const started = Date.now();
  await t.throwsAsync(new NeutronLookup({ endpoint: async () => refused, token: async () => 'caller-tok' }).findNetwork('n1'), {
    instanceOf: BackendUnavailableError,
    message: /ECONNREFUSED/,
  });
  t.true(Date.now() - started < 3000);
  nock(NEUTRON).get('/v2.0/networks/n2').reply(503, {});
  await t.throwsAsync(lookup().findNetwork('n2'), { instanceOf: BackendUnavailableError });
});

test.serial('a Neutron that accepts the connection and never answers is BackendUnavailableError within the timeout', async (t) => {
  // a real socket that swallows the request: the case that took axios's 30 s default before
  const silent = await silentServer(t);
  const url = silent.url;
  const slow = new NeutronLookup({ endpoint: async () => url, token: async () => 'caller-tok', timeoutMs: 300 });
  const started = Date.now();
  await t.throwsAsync(slow.findNetwork('n3'), { instanceOf: BackendUnavailableError, message: /ECONNABORTED|ETIMEDOUT/ });
  const took = Date.now() - started;
  t.true(took >= 250 && took < 3000, `answered after ${took} ms`);
  t.is(silent.connections(), 1);
});

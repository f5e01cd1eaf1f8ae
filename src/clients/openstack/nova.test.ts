import test from 'ava';
import nock from 'nock';
import { NovaCompute } from './nova.js';
import { ComputeNotFoundError } from '../compute.js';
import { BackendUnavailableError } from '../errors.js';
import { CinderBlockStorage } from './cinder.js';

const NOVA = 'http://nova.test:8774/v2.1';
const opts = (fresh: string[] = []) => ({ endpoint: async () => NOVA, token: async (f?: boolean) => (f ? (fresh.push('x'), 'tok2') : 'tok1') });

test.before(() => nock.disableNetConnect());
test.afterEach.always(() => nock.cleanAll());

test.serial('lists flavors across pages with the microversion header, maps ephemeral', async (t) => {
  nock('http://nova.test:8774', { reqheaders: { 'x-openstack-nova-api-version': '2.60', 'x-auth-token': 'tok1' } })
    .get('/v2.1/flavors/detail')
    .reply(200, {
      flavors: [{ id: 'ds1G', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, 'OS-FLV-EXT-DATA:ephemeral': 1 }],
      flavors_links: [{ rel: 'next', href: `${NOVA}/flavors/detail?marker=ds1G` }],
    })
    .get('/v2.1/flavors/detail?marker=ds1G')
    .reply(200, { flavors: [{ id: 7, name: 'm1', ram: 2048, vcpus: 2, disk: 10 }] });
  const flavors = await new NovaCompute(opts()).listFlavors();
  t.deepEqual(flavors, [
    { id: 'ds1G', name: 'ds1G', ram: 1024, vcpus: 1, disk: 5, ephemeral: 1 },
    { id: '7', name: 'm1', ram: 2048, vcpus: 2, disk: 10, ephemeral: 0 },
  ]);
});

test.serial('404 is ComputeNotFoundError, 503 is retryable, 401 retries once with a fresh token', async (t) => {
  nock('http://nova.test:8774').get('/v2.1/flavors/nope').reply(404, {});
  await t.throwsAsync(new NovaCompute(opts()).getFlavor('nope'), { instanceOf: ComputeNotFoundError });
  nock('http://nova.test:8774').get('/v2.1/flavors/x').reply(503, {});
  const err = await t.throwsAsync(new NovaCompute(opts()).getFlavor('x'), { instanceOf: BackendUnavailableError });
  t.true(err!.retryable);
  const fresh: string[] = [];
  nock('http://nova.test:8774').get('/v2.1/flavors/y').reply(401, {});
  nock('http://nova.test:8774', { reqheaders: { 'x-auth-token': 'tok2' } })
    .get('/v2.1/flavors/y')
    .reply(200, { flavor: { id: 'y', name: 'y', ram: 1, vcpus: 1, disk: 1 } });
  t.is((await new NovaCompute(opts(fresh)).getFlavor('y')).name, 'y');
  t.is(fresh.length, 1);
});

test.serial('cinder volume types with is_public from the access extension', async (t) => {
  nock('http://cinder.test')
    .get('/v3/p/types')
    .reply(200, {
      volume_types: [
        { id: 'a', name: 'ssd', 'os-volume-type-access:is_public': false, description: 'fast' },
        { id: 'b', name: 'hdd' },
      ],
    });
  const types = await new CinderBlockStorage({ endpoint: async () => 'http://cinder.test/v3/p', token: async () => 't' }).listVolumeTypes();
  t.deepEqual(types, [
    { id: 'a', name: 'ssd', is_public: false, description: 'fast' },
    { id: 'b', name: 'hdd', is_public: true, description: null },
  ]);
});

test.serial("availability zones are Nova's available ones, asked with the caller's token", async (t) => {
  nock('http://nova.test:8774', { reqheaders: { 'x-auth-token': 'tok1' } })
    .get('/v2.1/os-availability-zone')
    .reply(200, {
      availabilityZoneInfo: [
        { zoneName: 'nova', zoneState: { available: true } },
        { zoneName: 'down', zoneState: { available: false } },
      ],
    });
  t.deepEqual(await new NovaCompute(opts()).availabilityZones(), ['nova']);
});

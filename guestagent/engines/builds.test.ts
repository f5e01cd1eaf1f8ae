// Side-by-side builds: which one a version name picks, how each is named as a datastore version,
// and the list a failure names.
import test from 'ava';
import { describeBuilds, installedBuilds, namedVersions, pickBuild, type InstalledBuild } from './builds.js';

const b = (root: string, version: string | undefined): InstalledBuild<{ root: string }> => ({ binaries: { root }, version });
// the configured build (7.0.15), a 6.0 build, another 7.0 patch release, a directory with no server
const builds = [b('', '7.0.15'), b('/v/redis-6.0.16', '6.0.16'), b('/v/redis-7.0.11', '7.0.11'), b('/v/gone', undefined)];

test('a full version picks the build reporting it exactly', (t) => {
  t.is(pickBuild(builds, '7.0.11')?.root, '/v/redis-7.0.11');
  t.is(pickBuild(builds, '6.0.16')?.root, '/v/redis-6.0.16');
  t.is(pickBuild(builds, '7.0.15')?.root, '');
});

test('a series picks the first build of it: the configured one before a side-by-side one', (t) => {
  t.is(pickBuild(builds, '7.0')?.root, '');
  t.is(pickBuild(builds, '6.0')?.root, '/v/redis-6.0.16');
});

test('a version with no build: none', (t) => {
  t.is(pickBuild(builds, '7.2'), undefined);
  t.is(pickBuild(builds, '7.0.99'), undefined);
  t.is(pickBuild([b('', undefined)], '7.0'), undefined);
});

test('datastore version names: major.minor, the full version for a second build of a series, each version once', (t) => {
  t.deepEqual(namedVersions([...builds, b('/v/copy', '6.0.16')]), [
    { version: '7.0.15', name: '7.0' },
    { version: '6.0.16', name: '6.0' },
    { version: '7.0.11', name: '7.0.11' },
  ]);
});

test('the builds in a message, a missing one said so', (t) => {
  t.is(
    describeBuilds(builds.slice(0, 2).concat(builds[3]!), (x) => `${x.root || '/usr'}/bin/redis-server`),
    '/usr/bin/redis-server (7.0.15), /v/redis-6.0.16/bin/redis-server (6.0.16), /v/gone/bin/redis-server (missing)',
  );
});

test('installed builds: the configured one first, then each directory, each asked its version', async (t) => {
  const asked: string[] = [];
  const found = await installedBuilds(
    ['/a', '/b'],
    (root) => ({ root }),
    async (x) => (asked.push(x.root), x.root === '/b' ? undefined : `1.${asked.length}.0`),
  );
  t.deepEqual(asked, ['', '/a', '/b']);
  t.deepEqual(
    found.map((f) => f.binaries.root),
    ['', '/a', '/b'],
  );
  t.is(found[2]!.version, undefined);
});

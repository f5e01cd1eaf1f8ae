// Side-by-side builds: which one a version name picks, how each is named as a datastore version,
// and the list a failure names.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, nameBuilds, pickBuild, probeBuilds, type Build } from './builds.js';
import { majorMinor } from './detect.js';

const b = (root: string, version: string | undefined): Build<{ root: string }> => ({ binaries: { root }, version });
// the configured build (7.0.15), a 6.0 build, another 7.0 patch release, a directory with no server
const builds = [b('', '7.0.15'), b('/v/redis-6.0.16', '6.0.16'), b('/v/redis-7.0.11', '7.0.11'), b('/v/gone', undefined)];

test('a full version picks the build reporting it exactly', (t) => {
  t.is(pickBuild(builds, '7.0.11', majorMinor)?.root, '/v/redis-7.0.11');
  t.is(pickBuild(builds, '6.0.16', majorMinor)?.root, '/v/redis-6.0.16');
  t.is(pickBuild(builds, '7.0.15', majorMinor)?.root, '');
});

test('a series picks the first build of it: the configured one before a side-by-side one', (t) => {
  t.is(pickBuild(builds, '7.0', majorMinor)?.root, '');
  t.is(pickBuild(builds, '6.0', majorMinor)?.root, '/v/redis-6.0.16');
});

test('a version with no build: none', (t) => {
  t.is(pickBuild(builds, '7.2', majorMinor), undefined);
  t.is(pickBuild(builds, '7.0.99', majorMinor), undefined);
  t.is(pickBuild([b('', undefined)], '7.0', majorMinor), undefined);
});

test('datastore version names: major.minor, the full version for a second build of a series, each version once', (t) => {
  t.deepEqual(
    nameBuilds([...builds, b('/v/copy', '6.0.16')], majorMinor).map(({ version, name }) => ({ version, name })),
    [
      { version: '7.0.15', name: '7.0' },
      { version: '6.0.16', name: '6.0' },
      { version: '7.0.11', name: '7.0.11' },
    ],
  );
});

test('the builds in a message, a missing one said so', (t) => {
  t.is(
    describe([builds[0]!, builds[1]!, builds[3]!], (x) => `${x.root || '/usr'}/bin/redis-server`),
    '/usr/bin/redis-server (7.0.15), /v/redis-6.0.16/bin/redis-server (6.0.16), /v/gone/bin/redis-server (missing)',
  );
});

test('probed builds: each server program asked its version, in order; a missing one has none', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'builds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'a'), '#!/bin/sh\necho "Redis server v=6.0.16 sha=0"\n', { mode: 0o755 });
  const found = await probeBuilds(['a', 'missing'], (x) => path.join(dir, x), /v=(\d+\.\d+\.\d+)/);
  t.deepEqual(found, [
    { binaries: 'a', version: '6.0.16' },
    { binaries: 'missing', version: undefined },
  ]);
});

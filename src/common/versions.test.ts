import test from 'ava';
import { compareVersions, newerPatchReleases, type VersionLike } from './versions.js';

const v = (id: string, version: string | null, o: Partial<VersionLike> = {}): VersionLike => ({
  id,
  datastore_id: 'ds',
  name: version ?? id,
  version,
  manager: 'mariadb',
  active: true,
  ...o,
});

test('versions compare by number, not as text', (t) => {
  t.is(compareVersions('10.11.9', '10.11.18'), -1);
  t.is(compareVersions('10.11.19', '10.11.18'), 1);
  t.is(compareVersions('10.11', '10.11.0'), 0);
  t.is(compareVersions('10.11-beta', '10.11'), undefined);
});

test('the newer patch releases: same datastore, manager and major.minor, active, newer; oldest first', (t) => {
  const current = v('cur', '10.11.18');
  const all = [
    current,
    v('p20', '10.11.20'),
    v('p19', '10.11.19'),
    v('old', '10.11.9'),
    v('minor', '10.12.1'),
    v('major', '11.4.2'),
    v('off', '10.11.21', { active: false }),
    v('other-ds', '10.11.22', { datastore_id: 'other' }),
    v('other-mgr', '10.11.23', { manager: 'mysql' }),
    // the installed build: named by its series, its number is the full version
    { ...v('installed', '10.11.24'), name: '10.11' },
  ];
  t.deepEqual(
    newerPatchReleases(current, all).map((x) => x.id),
    ['p19', 'p20', 'installed'],
  );
  t.deepEqual(newerPatchReleases(v('x', '7'), [v('y', '7.1')]), [], 'no series without a minor number');
  t.deepEqual(newerPatchReleases(v('x', 'latest'), [v('y', '10.11.2')]), []);
});

import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { objectStoreContract, randomBinary, chunked } from '../../../test/helpers/object-store.contract.js';
import { LocalObjectStore } from './object-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'objects-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

objectStoreContract(test, async () => new LocalObjectStore({ state_dir: root }), 'local');

test('layout: <state>/objects/<container>/<object> with a sidecar, segments under <container>_segments', async (t) => {
  const s = new LocalObjectStore({ state_dir: root });
  await s.ensureContainer('layout');
  const data = randomBinary(5000);
  await s.putLargeObject('layout', 'b/x.enc', chunked(data, 1000), { segmentSize: 2048, metadata: { k: 'v' } });
  const base = path.join(root, 'objects');
  const manifest = JSON.parse(readFileSync(path.join(base, 'layout/b/x.enc'), 'utf8')) as Array<{ path: string; size_bytes: number }>;
  t.deepEqual(
    manifest.map((e) => [e.path, e.size_bytes]),
    [
      ['/layout_segments/b/x.enc/00000001', 2048],
      ['/layout_segments/b/x.enc/00000002', 2048],
      ['/layout_segments/b/x.enc/00000003', 904],
    ],
  );
  const side = JSON.parse(readFileSync(path.join(base, 'layout/b/x.enc.meta.json'), 'utf8')) as { large: boolean; metadata: Record<string, string> };
  t.true(side.large);
  t.is(side.metadata.k, 'v');
  t.true(existsSync(path.join(base, 'layout_segments/b/x.enc/00000003')));
  t.true((await s.locationOf('layout', 'b/x.enc')).startsWith('file:///'));
  await s.deleteObject('layout', 'b/x.enc');
  t.false(existsSync(path.join(base, 'layout_segments/b')), 'emptied pseudo-directories are removed');
  t.false(existsSync(path.join(base, 'layout/b')));
});

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readSince, tailLines } from './file-tail.js';

test('readSince: from an offset, at most the last maxBytes; a missing file is empty; an offset past the end reads the (rotated) file', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ft-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'a.log');
  writeFileSync(f, 'old\nnew 1\nnew 2\n');
  t.is(readSince(f, 4), 'new 1\nnew 2\n');
  t.is(readSince(f, 0, 6), 'new 2\n');
  t.is(readSince(f, 1000), 'old\nnew 1\nnew 2\n');
  t.is(readSince(path.join(dir, 'none')), '');
  t.is(tailLines(f, 2), 'new 1\nnew 2');
});

import test from 'ava';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writePrivateFile } from './private-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'private-file-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('a new file is 0600 with the body', (t) => {
  const f = path.join(dir, 'new.secret');
  writePrivateFile(f, 'pw-1');
  t.is(readFileSync(f, 'utf8'), 'pw-1');
  t.is(statSync(f).mode & 0o777, 0o600);
});

test('a file there before with a wider mode is replaced by a 0600 one (writeFileSync keeps the old mode), no temp file left', (t) => {
  const f = path.join(dir, 'old.secret');
  writeFileSync(f, 'old');
  chmodSync(f, 0o644);
  const before = statSync(f).ino;
  writePrivateFile(f, 'pw-2');
  t.is(readFileSync(f, 'utf8'), 'pw-2');
  t.is(statSync(f).mode & 0o777, 0o600);
  t.not(statSync(f).ino, before, 'a new inode: an open descriptor to the old file does not see the new body');
  t.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('.')),
    [],
  );
});

import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { swapDataDir } from './data-dir.js';

const root = mkdtempSync(path.join(tmpdir(), 'data-dir-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** <root>/<name>/ with a data directory holding `old`, and a staged copy holding `new`. */
function volume(name: string, withOld = true): { data: string; staged: string } {
  const base = path.join(root, name);
  const data = path.join(base, 'data');
  const staged = path.join(base, 'staging');
  mkdirSync(staged, { recursive: true });
  writeFileSync(path.join(staged, 'file'), 'new');
  if (withOld) {
    mkdirSync(data);
    writeFileSync(path.join(data, 'file'), 'old');
    writeFileSync(path.join(data, 'own.conf'), 'mine');
  }
  return { data, staged };
}

test('the staged copy becomes the data directory; finish sees the old one; the old one is gone after', async (t) => {
  const { data, staged } = volume('ok');
  let seen: string | undefined;
  await swapDataDir(data, staged, async (previous) => {
    seen = previous;
    t.is(readFileSync(path.join(data, 'file'), 'utf8'), 'new');
    t.is(readFileSync(path.join(previous!, 'own.conf'), 'utf8'), 'mine');
  });
  t.regex(path.basename(seen!), /^data\.replaced-\d+$/);
  t.is(readFileSync(path.join(data, 'file'), 'utf8'), 'new');
  t.false(existsSync(staged));
  t.deepEqual(readdirSync(path.dirname(data)), ['data']);
});

test('no data directory before: finish gets undefined', async (t) => {
  const { data, staged } = volume('fresh', false);
  const calls: Array<string | undefined> = [];
  await swapDataDir(data, staged, async (previous) => void calls.push(previous));
  t.deepEqual(calls, [undefined]);
  t.is(readFileSync(path.join(data, 'file'), 'utf8'), 'new');
});

test('finish fails: the new directory goes, the old one is back, the error is the one thrown', async (t) => {
  const { data, staged } = volume('fails');
  await t.throwsAsync(
    swapDataDir(data, staged, async () => {
      throw new Error('no admin reset');
    }),
    { message: 'no admin reset' },
  );
  t.is(readFileSync(path.join(data, 'file'), 'utf8'), 'old');
  t.is(readFileSync(path.join(data, 'own.conf'), 'utf8'), 'mine');
  t.deepEqual(readdirSync(path.dirname(data)), ['data']);
});

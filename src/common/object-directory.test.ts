// The local object store's write area: a writer killed mid-upload (a guest agent SIGKILLed during
// a backup) leaves its file in <root>/.incoming; the next list or write removes the files of
// writers that no longer run, and never a running writer's.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ObjectDirectory } from './object-directory.js';

test("a killed writer's partial upload is removed by the next list or write; a running writer's stays", async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'objdir-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const store = new ObjectDirectory(root);
  await store.ensureContainer('database_backups');
  const incoming = path.join(root, '.incoming');
  mkdirSync(incoming, { recursive: true });
  const gone = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has ended
  writeFileSync(path.join(incoming, `${gone}-partial`), 'half a backup');
  writeFileSync(path.join(incoming, `${process.pid}-writing`), 'still being written');
  writeFileSync(path.join(incoming, 'no-pid-name'), 'an older writer');
  t.deepEqual(await store.listObjects('database_backups'), []);
  t.deepEqual(readdirSync(incoming).sort(), [`${process.pid}-writing`, 'no-pid-name']);
  writeFileSync(path.join(incoming, `${gone}-partial-2`), 'another half');
  const put = await store.putObject('database_backups', 'b1', Readable.from([Buffer.from('whole')]));
  t.is(put.size, 5);
  t.deepEqual(readdirSync(incoming).sort(), [`${process.pid}-writing`, 'no-pid-name']);
});

// packageRoot finds the project from a module of the sources and of the compiled tree alike.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from './package-root.js';

test('the nearest package.json above the module: from src/cmd and from dist/src/cmd, the same root', (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'pkg-root-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(path.join(root, 'package.json'), '{}');
  for (const dir of ['src/cmd', 'dist/src/cmd']) mkdirSync(path.join(root, dir), { recursive: true });
  t.is(packageRoot(pathToFileURL(path.join(root, 'src/cmd/all-in-one.ts')).href), root);
  t.is(packageRoot(pathToFileURL(path.join(root, 'dist/src/cmd/all-in-one.js')).href), root);
  t.is(packageRoot(import.meta.url), path.resolve(import.meta.dirname, '../..'), 'this checkout');
});

test('no package.json above: an error naming where it looked from', (t) => {
  t.throws(() => packageRoot('file:///x/y.js'), { message: /^no package\.json at or above \/x$/ });
});

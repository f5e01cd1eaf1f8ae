// The guest image builder's own checks: an image without its engine is refused (the agent in the
// image finds no engine), and a re-run with nothing changed reuses the image (the cached build's
// figure). Both use the tier's image cache, so the base system is built once.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureImage, runImageBuild } from '../helpers/vm-image.js';
import { vmFigure } from '../helpers/vm-tier.js';

test('an image without the engine is refused: nothing is written, the reason names the engine and the recipe', async (t) => {
  t.timeout(60 * 60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'trove-image-noengine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const recipe = path.join(dir, 'image.json');
  writeFileSync(recipe, JSON.stringify({ description: 'no engine at all', packages: [] }));
  const out = path.join(dir, 'images');
  const r = await runImageBuild('mariadb', ['--recipe', recipe], (l) => t.log(l), out);
  t.is(r.code, 2, r.output);
  t.regex(r.output, /The image has no mariadb engine: its guest agent found none \(the recipe .*image\.json must install it\)\. No image was written\./);
  t.deepEqual(existsSync(out) ? readdirSync(out) : [], [], 'no image, no manifest');
});

test('a re-run with nothing changed reuses the image', async (t) => {
  const image = await ensureImage(t);
  const again = await runImageBuild('mariadb', [], (l) => t.log(l));
  t.is(again.code, 0, again.output);
  t.regex(again.output, /guest image mariadb: up to date/);
  t.regex(again.output, new RegExp(`sha256 ${image.sha256}`));
  vmFigure('image build (cached, nothing changed)', again.seconds);
});

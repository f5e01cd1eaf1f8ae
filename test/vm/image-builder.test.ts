// The guest image builder's own checks: an image without its engine is refused (the agent in the
// image finds no engine), and a re-run with nothing changed reuses the image (the cached build's
// figure). Both use the tier's image cache, so the base system is built once.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureImage, IMAGE_DIR, runImageBuild } from '../helpers/vm-image.js';
import { vmFigure, vmTest } from '../helpers/vm-tier.js';

vmTest('an image without the engine is refused: nothing is written, the reason names the engine and the recipe', async (t) => {
  t.timeout(60 * 60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'trove-image-noengine-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // at the same path every run: the builder caches a recipe's tree per recipe file
  const recipe = path.join(IMAGE_DIR, 'test-recipes', 'no-engine.json');
  mkdirSync(path.dirname(recipe), { recursive: true });
  writeFileSync(recipe, JSON.stringify({ description: 'no engine at all', packages: [] }));
  const out = path.join(dir, 'images');
  const r = await runImageBuild('mariadb', ['--recipe', recipe], (l) => t.log(l), out);
  t.is(r.code, 2, r.output);
  t.regex(
    r.output,
    /The image has no mariadb engine: its guest agent found none \(the recipe .*test-recipes\/no-engine\.json must install it\)\. No image was written\./,
  );
  t.deepEqual(existsSync(out) ? readdirSync(out) : [], [], 'no image, no manifest');
});

vmTest('a re-run with nothing changed reuses the image', async (t) => {
  const image = await ensureImage(t);
  const again = await runImageBuild('mariadb', [], (l) => t.log(l));
  t.is(again.code, 0, again.output);
  t.regex(again.output, /guest image mariadb: up to date/);
  t.regex(again.output, new RegExp(`sha256 ${image.sha256}`));
  vmFigure('image build (cached, nothing changed)', again.seconds);
});

// guest_image_build: a datastore's guest image from Debian's packages (tools/guest-image), then,
// when asked, uploaded to Glance and registered as the datastore's version (what
// datastore_version_update and datastore_update do, with the new image's id).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { readRawConfig } from '../../../src/common/config/reader.js';
import { configSection } from '../../../src/common/config/schema.js';
import { qemuSection } from '../../../src/clients/qemu/config.js';
import { writeManifest } from '../../../src/clients/qemu/images.js';
import { findDatastore, findVersion, setDefaultVersion, upsertVersion } from '../../../src/db/datastores.js';
import { buildImage } from '../../guest-image/build.js';
import { uploadToGlance } from '../../guest-image/glance-upload.js';
import { UsageError, withContext, type GlobalOptions } from '../context.js';

/** The source tree (the agent is bundled from its TypeScript): the nearest directory up with guestagent/main.ts. */
function sourceRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'guestagent', 'main.ts'))) return dir;
    if (dir === path.dirname(dir))
      throw new UsageError("guest_image_build runs from trove-ts's source tree (it bundles guestagent/): not found above this file.");
  }
}
const MB = 1024 * 1024;

interface Options {
  imageDir?: string;
  cacheDir?: string;
  recipe?: string;
  suite: string;
  mirror: string;
  securityMirror: string;
  node: string;
  sizeGb: string;
  compress: boolean;
  upload?: boolean;
  register?: boolean;
  versionName?: string;
}

export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('guest_image_build')
    .description("build a datastore's guest image (qcow2) from Debian's packages; --upload to Glance, --register as the datastore's version")
    .argument('<datastore>', 'the datastore (its recipe: etc/datastores/<datastore>/image.json)')
    .option('--image-dir <dir>', 'where the image and its manifest go (default: [qemu] image_dir, .state/images)')
    .option('--cache-dir <dir>', 'the cached base system, engine trees and agent bundles (default: <image-dir>/cache)')
    .option('--recipe <file>', 'another recipe than etc/datastores/<datastore>/image.json')
    .option('--suite <suite>', 'the Debian suite', 'bookworm')
    .option('--mirror <url>', 'the Debian mirror', 'http://deb.debian.org/debian')
    .option('--security-mirror <url>', "Debian's security mirror", 'http://deb.debian.org/debian-security')
    .option('--node <path>', 'the Node.js binary the image carries (20 or later)', process.execPath)
    .option('--size-gb <n>', "the image's disk size in GB (its root filesystem; data goes on the volume)", '4')
    .option('--no-compress', 'a qcow2 without compression (larger, quicker to write)')
    .option('--upload', 'upload the image to Glance (needs --config-file with the service credentials)')
    .option(
      '--register',
      "register it as the datastore's version (datastore_version_update, datastore_update): the Glance id with --upload, else the image's own id (compute_driver = qemu)",
    )
    .option('--version-name <name>', "the version's name (default: the engine's version in the image, e.g. 10.11)")
    .action(async (datastore: string, opts: Options) => {
      const configFiles = globals().configFile;
      const raw = configFiles.length ? readRawConfig({ files: configFiles }) : {};
      const sizeGb = Number(opts.sizeGb);
      if (!Number.isInteger(sizeGb) || sizeGb < 2 || sizeGb > 2048)
        throw new UsageError(`--size-gb must be a whole number from 2 to 2048, got '${opts.sizeGb}'.`);
      const imageDir = path.resolve(opts.imageDir ?? configSection(raw, 'qemu', qemuSection).image_dir);
      const say = (line: string) => process.stdout.write(`${line}\n`);
      const r = await buildImage({
        repo: sourceRoot(),
        datastore,
        recipeFile: opts.recipe,
        outDir: imageDir,
        cacheDir: path.resolve(opts.cacheDir ?? path.join(imageDir, 'cache')),
        suite: opts.suite,
        mirror: opts.mirror,
        securityMirror: opts.securityMirror,
        nodeBin: opts.node,
        sizeGb,
        compress: opts.compress,
        qemuImg: configSection(raw, 'qemu', qemuSection).qemu_img_bin,
        say,
      });
      const m = r.manifest;
      say(
        r.reused
          ? `guest image ${datastore}: up to date (nothing it is built from changed), checked in ${r.seconds.total.toFixed(0)} s`
          : `guest image ${datastore}: built in ${r.seconds.total.toFixed(0)} s (base system ${r.seconds.base.toFixed(0)} s, engine ${r.seconds.engine.toFixed(0)} s, image ${r.seconds.image.toFixed(0)} s)`,
      );
      say(`  ${r.path}: ${(m.bytes / MB).toFixed(0)} MB (virtual ${(m.virtual_bytes / 1024 / MB).toFixed(1)} GB), sha256 ${m.sha256}`);
      say(`  image id ${m.id}, ${m.datastore} ${m.engine_version} (version ${m.version})`);
      let imageId = m.id;
      if (opts.upload) {
        imageId = await uploadToGlance(raw, m, r.path, say);
        writeManifest(imageDir, { ...m, glance_id: imageId });
        say(`  Glance image ${imageId}`);
      }
      if (opts.register) {
        if (!configFiles.length) throw new UsageError('--register needs --config-file (the control database).');
        const versionName = opts.versionName ?? m.version;
        await withContext(configFiles, async (ctx) => {
          const { created } = await upsertVersion(ctx.db, {
            datastore,
            name: versionName,
            manager: m.manager,
            imageId,
            imageTags: [],
            packages: [],
            active: true,
            version: m.engine_version,
          });
          const ds = (await findDatastore(ctx.db, datastore))!;
          const v = await findVersion(ctx.db, ds.id, versionName);
          if (v && v !== 'ambiguous' && !ds.default_version_id) await setDefaultVersion(ctx.db, ds.id, v.id);
          ctx.out(`Datastore version '${versionName}' ${created ? 'created' : 'updated'} with image ${imageId}.`);
        });
      }
    });
}

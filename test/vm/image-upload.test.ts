// trove-manage guest_image_build --upload --register against the cloud lab: the built image goes
// into the lab's Glance (active, its bytes, tags trove and mariadb, its size as min_disk) with
// trove-ts's service identity, and the datastore version points at that Glance id, as
// datastore_version_update and datastore_update would record it.
import anyTest from 'ava';
import { createHash } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import path from 'node:path';
import { readManifest } from '../../src/clients/qemu/images.js';
import { cloudTest, rawClient, serviceIdentity, skipAll } from '../helpers/cloud-lab.js';
import { keystoneConfig } from '../helpers/keystone-lab.js';
import { writeConf } from '../helpers/api-process.js';
import { createThrowawayDb } from '../helpers/throwaway-db.js';
import { ensureImage, IMAGE_DIR, runImageBuild } from '../helpers/vm-image.js';
import { VM_TIER, vmFigure } from '../helpers/vm-tier.js';

// the VM tier's, with the cloud lab up (test/vm/run.sh brings it up; TROVE_TEST_SKIP_LAB=1 and none: skipped)
const test = VM_TIER ? await cloudTest(anyTest) : skipAll(anyTest);

async function md5Of(file: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

test('--upload puts the image into Glance and --register points the datastore version at it', async (t) => {
  const image = await ensureImage(t);
  const tdb = await createThrowawayDb();
  const conf = writeConf({ ...keystoneConfig(), database: { connection: tdb.url } });
  const glance = await rawClient(serviceIdentity(), 'image');
  const uploaded: { id?: string } = {};
  t.teardown(async () => {
    if (uploaded.id) await glance.delete(`/v2/images/${uploaded.id}`);
    await tdb.drop();
    rmSync(path.dirname(conf), { recursive: true, force: true });
  });

  const r = await runImageBuild('mariadb', ['--upload', '--register', '--config-file', conf], (l) => t.log(l));
  t.is(r.code, 0, r.output);
  const glanceId = (uploaded.id = /Glance image ([0-9a-f-]{36})\n/.exec(r.output)?.[1]);
  t.truthy(glanceId, r.output);
  vmFigure('image upload to Glance and register', r.seconds);

  const shown = (await glance.get(`/v2/images/${glanceId}`)).data as Record<string, unknown>;
  t.like(shown, { status: 'active', disk_format: 'qcow2', container_format: 'bare', size: image.bytes, min_disk: 4, trove_image_sha256: image.sha256 });
  t.deepEqual([...(shown.tags as string[])].sort(), ['mariadb', 'trove']);
  t.is(shown.checksum, await md5Of(path.join(IMAGE_DIR, image.file)), 'Glance holds exactly the built file');
  t.is(readManifest(IMAGE_DIR, 'mariadb')?.glance_id, glanceId);

  const version = await tdb.db('datastore_versions').where({ image_id: glanceId }).first();
  t.like(version, { name: image.version, version: image.engine_version, manager: 'mariadb', active: 1 });
  const ds = await tdb.db('datastores').where({ id: version.datastore_id }).first();
  t.like(ds, { name: 'mariadb', default_version_id: version.id });
  t.regex(r.output, new RegExp(`Datastore version '${image.version.replace('.', '\\.')}' created with image ${glanceId}\\.`));
});

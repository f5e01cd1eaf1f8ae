// The guest's backup path against the real Swift of the cloud lab: runBackup (compress → encrypt →
// sha256 → 1 MiB segments) through guestagent/backup/storage/swift.ts into the demo user's own
// Swift account with the demo user's Keystone token and the catalog's object-store URL, then what
// Swift itself holds (SLO manifest, metadata, segments), runRestore back byte-equal; a segment
// tampered with in Swift; Swift refusing the token part-way; remove() of a backup.
import anyTest from 'ava';
import axios from 'axios';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { createLogger } from '../../src/common/log.js';
import { runBackup } from '../../guestagent/backup/run-backup.js';
import { BackupIntegrityError, runRestore, type RestoreSink } from '../../guestagent/backup/run-restore.js';
import { SwiftBackupStorage, SwiftRequestError } from '../../guestagent/backup/storage/swift.js';
import { cloudTest, demoIdentity, rawClient, REGION } from '../helpers/cloud-lab.js';
import { DEMO, KEYSTONE_URL } from '../helpers/keystone-lab.js';
import { labIdentity } from '../../tools/lab/cloud-env.js';

const test = await cloudTest(anyTest);
const demo = demoIdentity();
const prefix = `gb${process.pid}-`;
const MiB = 1024 * 1024;
const SERVICE_KEY = `guest-backup-swift-${randomBytes(8).toString('hex')}`;
let root: string | undefined;
const tempRoot = () => (root ??= mkdtempSync(path.join(tmpdir(), 'guest-backup-swift-')));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const endpoint = () => demo.endpoint({ type: 'object-store', region: REGION, interface: 'public' });

/** The guest's writer as backup-handlers.ts builds it: the account URL and the call's token. */
async function guestStorage(token: () => Promise<string> = () => demo.token()): Promise<SwiftBackupStorage> {
  return new SwiftBackupStorage({ endpoint: await endpoint(), token });
}

/** `size` bytes in 64 KiB chunks, alternating 1 MiB of random and 1 MiB of repetitive bytes; `digest()` once read. */
function generated(size: number): { stream: Readable; digest: () => string } {
  const h = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(64 * 1024, size - sent);
      const chunk = Math.floor(sent / MiB) % 2 === 0 ? randomBytes(n) : Buffer.alloc(n, `row ${Math.floor(sent / MiB)} of the table; `);
      sent += n;
      h.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => h.digest('hex') };
}

/** A restore into a temp dir whose sink is a Writable that hashes; commit records the digest. */
function hashingRestore() {
  const target = mkdtempSync(path.join(tempRoot(), 'target-'));
  const h = createHash('sha256');
  let bytes = 0;
  const committed: string[] = [];
  return {
    target,
    stagingDir: path.join(target, '.staging'),
    committed,
    bytes: () => bytes,
    sink: async (): Promise<RestoreSink> => {
      const stream = new Writable({
        write(c: Buffer, _e, cb) {
          h.update(c);
          bytes += c.length;
          cb();
        },
      });
      return {
        stream,
        done: new Promise<void>((resolve, reject) =>
          stream
            .on('finish', resolve)
            .on('error', reject)
            .on('close', () => reject(new Error('sink closed early'))),
        ),
      };
    },
    commit: async () => void committed.push(h.digest('hex')),
  };
}

/** What Swift lists in a container under a prefix (an absent container: nothing). */
async function listed(container: string, under = ''): Promise<Array<{ name: string; bytes: number }>> {
  const swift = await rawClient(demo, 'object-store');
  const r = await swift.get(`/${encodeURIComponent(container)}?format=json&prefix=${encodeURIComponent(under)}`);
  if (r.status === 404 || r.status === 204) return [];
  if (r.status !== 200) throw new Error(`list ${container}: HTTP ${r.status}`);
  return r.data as Array<{ name: string; bytes: number }>;
}

const objectPath = (container: string, name: string) => `/${encodeURIComponent(container)}/${name.split('/').map(encodeURIComponent).join('/')}`;

/** A second demo token, revoked in Keystone (DELETE /v3/auth/tokens): one Swift refuses. */
async function revokedToken(): Promise<string> {
  const doomed = await labIdentity(DEMO.name, DEMO.password, DEMO.project).token();
  const r = await axios.delete(`${KEYSTONE_URL}/auth/tokens`, {
    headers: { 'X-Auth-Token': await demo.token(), 'X-Subject-Token': doomed },
    validateStatus: () => true,
  });
  if (r.status !== 204) throw new Error(`token revocation: HTTP ${r.status}`);
  return doomed;
}

/** A logger whose lines the test reads. */
function capturedLog() {
  const lines: string[] = [];
  const log = createLogger('guest-backup-swift', { level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  return { log, text: () => lines.join('') };
}

test.after.always('remove the containers this run made, and the temp dir', async () => {
  if (root) rmSync(root, { recursive: true, force: true });
  const swift = await rawClient(demo, 'object-store');
  const r = await swift.get(`/?format=json&prefix=${prefix}`);
  for (const c of (r.data ?? []) as Array<{ name: string }>) {
    for (const o of await listed(c.name)) await swift.delete(objectPath(c.name, o.name));
    await swift.delete(`/${encodeURIComponent(c.name)}`);
  }
});

test('guest backup of 20 MB into the demo account: an SLO with its metadata and 1 MiB segments in Swift; restore is byte-equal', async (t) => {
  const container = `${prefix}rt`;
  const token = await demo.token();
  const input = generated(20 * MiB);
  const { log, text } = capturedLog();
  const r = await runBackup({
    source: input.stream,
    format: 'raw',
    storage: await guestStorage(),
    container,
    name: 'b-roundtrip',
    serviceKey: SERVICE_KEY,
    segmentSize: MiB,
    concurrency: 3,
    metadata: { 'backup-id': 'b-roundtrip', datastore: 'mariadb' },
    finalMetadata: () => ({ 'to-lsn': '123456789' }),
    log,
  });
  t.is(r.rawSize, 20 * MiB);
  t.true(r.size < r.rawSize, 'compressed');
  t.is(r.location, `${await endpoint()}/${container}/b-roundtrip.raw.${r.metadata.compression === 'zstd' ? 'zst' : 'gz'}.enc`);
  const name = r.location.slice(r.location.lastIndexOf('/') + 1);

  // What Swift holds, asked with plain HTTP.
  const swift = await rawClient(demo, 'object-store');
  const head = await swift.head(objectPath(container, name));
  t.is(head.status, 200);
  t.is(String(head.headers['x-static-large-object']).toLowerCase(), 'true', 'a static large object');
  t.is(Number(head.headers['content-length']), r.size);
  t.is(String(head.headers['content-type']).split(';')[0], 'application/octet-stream');
  t.is(String(head.headers.etag).replace(/"/g, ''), r.etag, "the writer's etag is Swift's");
  t.is(head.headers['x-object-meta-sha256'], r.checksum);
  t.is(head.headers['x-object-meta-backup-id'], 'b-roundtrip');
  t.is(head.headers['x-object-meta-datastore'], 'mariadb');
  t.is(head.headers['x-object-meta-format'], 'raw');
  t.is(head.headers['x-object-meta-compression'], r.metadata.compression);
  t.is(head.headers['x-object-meta-cipher'], 'aes-256-gcm');
  t.is(head.headers['x-object-meta-to-lsn'], '123456789', 'late metadata is on the object');
  t.is(head.headers['x-object-meta-key-id'], r.metadata['key-id']);
  t.true(
    decodeURIComponent(String(head.headers['x-object-meta-wrapped-key'])) === r.metadata['wrapped-key'],
    'the wrapped data key is on the object (not printed)',
  );

  const segments = Math.ceil(r.size / MiB);
  t.true(segments >= 8, `${segments} segments`);
  const segs = await listed(`${container}_segments`, `${name}/`);
  t.deepEqual(
    segs.map((s) => [s.name, s.bytes]),
    Array.from({ length: segments }, (_, i) => [`${name}/${String(i + 1).padStart(8, '0')}`, i < segments - 1 ? MiB : r.size - (segments - 1) * MiB]),
  );
  const manifest = await swift.get(`${objectPath(container, name)}?multipart-manifest=get&format=raw`);
  t.is(manifest.status, 200);
  t.deepEqual(
    (manifest.data as Array<{ path: string }>).map((e) => e.path),
    segs.map((s) => `/${container}_segments/${s.name}`),
  );
  const whole = await swift.get(objectPath(container, name), { responseType: 'arraybuffer' });
  t.is(sha(Buffer.from(whole.data as ArrayBuffer)), r.checksum, 'the sha256 on the object is of what Swift serves');

  // Back through the guest's restore.
  const restore = hashingRestore();
  const back = await runRestore({
    storage: await guestStorage(),
    location: r.location,
    checksum: r.checksum,
    serviceKey: SERVICE_KEY,
    stagingDir: restore.stagingDir,
    sink: restore.sink,
    commit: restore.commit,
    log,
  });
  t.is(back.checksum, r.checksum);
  t.is(back.size, r.size);
  t.is(back.meta.metadata['to-lsn'], '123456789');
  t.is(restore.bytes(), 20 * MiB);
  t.deepEqual(restore.committed, [input.digest()], 'the restored bytes are the original ones');
  t.deepEqual(readdirSync(restore.target), [], 'staging removed');
  t.regex(text(), /backup stored/);
  t.regex(text(), /backup restored/);
  t.false(text().includes(token), 'no token in a log line');
  t.false(text().includes(SERVICE_KEY), 'no service key in a log line');
});

// Swift checks each segment against the manifest's etag as it serves an SLO: the first one before it
// answers (409 if it was altered), the others mid-stream (the response is cut short).
for (const [which, index] of [
  ['the first', 0],
  ['a middle', 2],
] as const) {
  test(`${which} segment overwritten in Swift: the restore fails with the integrity error and nothing is committed`, async (t) => {
    const container = `${prefix}tamper${index}`;
    const storage = await guestStorage();
    const r = await runBackup({
      source: generated(6 * MiB).stream,
      format: 'raw',
      storage,
      container,
      name: 'b-tamper',
      serviceKey: SERVICE_KEY,
      segmentSize: MiB,
    });
    const name = r.location.slice(r.location.lastIndexOf('/') + 1);
    const segs = await listed(`${container}_segments`, `${name}/`);
    t.true(segs.length >= 4);
    const victim = segs[index]!;
    const swift = await rawClient(demo, 'object-store');
    const put = await swift.put(objectPath(`${container}_segments`, victim.name), randomBytes(victim.bytes), {
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    t.is(put.status, 201);

    const restore = hashingRestore();
    const err = await t.throwsAsync(
      runRestore({
        storage,
        location: r.location,
        checksum: r.checksum,
        serviceKey: SERVICE_KEY,
        stagingDir: restore.stagingDir,
        sink: restore.sink,
        commit: restore.commit,
      }),
      { instanceOf: BackupIntegrityError },
    );
    t.regex(err!.message, /nothing was restored/);
    t.deepEqual(restore.committed, [], 'commit never ran');
    t.deepEqual(readdirSync(restore.target), [], 'nothing in the target, staging removed');
  });
}

test('Swift refuses one segment mid-upload (a revoked token): the backup fails and no segment or manifest is left', async (t) => {
  const container = `${prefix}refused`;
  const good = await demo.token();
  const bad = await revokedToken();
  t.is((await (await rawClient(demo, 'object-store', { 'X-Auth-Token': bad })).head('/')).status, 401, 'Swift refuses the revoked token');
  // Requests 1-2 create the containers, 3-7 put segments 1-5; the 8th (segment 6, with others in flight) is refused.
  let calls = 0;
  const storage = await guestStorage(async () => (++calls === 8 ? bad : good));
  const { log, text } = capturedLog();
  const err = await t.throwsAsync(
    runBackup({
      source: generated(16 * MiB).stream,
      format: 'raw',
      storage,
      container,
      name: 'b-refused',
      serviceKey: SERVICE_KEY,
      segmentSize: MiB,
      concurrency: 3,
      log,
    }),
    { instanceOf: SwiftRequestError },
  );
  t.regex(err!.message, /^Swift PUT .*b-refused.*\/0000000\d failed: HTTP 401$/);
  t.true(calls > 8, 'the writer went on to clean up');
  t.false(err!.message.includes(good) || err!.message.includes(bad), 'no token in the error');
  t.false(text().includes(good) || text().includes(bad), 'no token in a log line');
  t.deepEqual(await listed(container), [], 'no manifest');
  t.deepEqual(await listed(`${container}_segments`), [], 'no segment left in Swift');
});

test("Swift refuses the guest's token from part-way on: the backup fails, no manifest; the segments stored before stay (the guest has no other token)", async (t) => {
  const container = `${prefix}expired`;
  const good = await demo.token();
  const bad = await revokedToken();
  // Requests 1-2 create the containers, 3-6 put segments 1-4; from the 7th on the token is dead, the cleanup's DELETEs too.
  let calls = 0;
  const storage = await guestStorage(async () => (++calls <= 6 ? good : bad));
  const err = await t.throwsAsync(
    runBackup({
      source: generated(16 * MiB).stream,
      format: 'raw',
      storage,
      container,
      name: 'b-expired',
      serviceKey: SERVICE_KEY,
      segmentSize: MiB,
      concurrency: 3,
    }),
    { instanceOf: SwiftRequestError },
  );
  t.regex(err!.message, /failed: HTTP 401$/);
  t.false(err!.message.includes(good) || err!.message.includes(bad), 'no token in the error');
  t.deepEqual(await listed(container), [], 'no manifest');
  const left = (await listed(`${container}_segments`)).map((s) => s.name);
  t.true(left.length <= 4, `only segments put with the good token: ${left.join(', ')}`);
  t.true(left.every((n) => /^b-expired\.raw\.(zst|gz)\.enc\/0000000[1-4]$/.test(n)));
  t.log(`left in Swift for the control plane to remove: ${left.length} segment(s)`);
});

test('remove(location) deletes the manifest and all its segments from Swift; removing it again is fine', async (t) => {
  const container = `${prefix}remove`;
  const storage = await guestStorage();
  const r = await runBackup({
    source: generated(5 * MiB).stream,
    format: 'raw',
    storage,
    container,
    name: 'b-remove',
    serviceKey: SERVICE_KEY,
    segmentSize: MiB,
  });
  const name = r.location.slice(r.location.lastIndexOf('/') + 1);
  t.true((await listed(`${container}_segments`, `${name}/`)).length >= 3);
  t.is((await storage.head(r.location)).metadata.sha256, r.checksum);

  await storage.remove(r.location);
  const swift = await rawClient(demo, 'object-store');
  t.is((await swift.head(objectPath(container, name))).status, 404, 'no manifest');
  t.deepEqual(await listed(container), []);
  t.deepEqual(await listed(`${container}_segments`), [], 'no segment left in Swift');
  await t.notThrowsAsync(storage.remove(r.location), 'gone already is fine');
  await t.throwsAsync(storage.head(r.location), { instanceOf: SwiftRequestError, message: /HTTP 404/ });
});

test('remove(location) with a token Swift refuses rejects: the backup is still there, not reported deleted', async (t) => {
  const container = `${prefix}remove-refused`;
  const storage = await guestStorage();
  const r = await runBackup({
    source: generated(3 * MiB).stream,
    format: 'raw',
    storage,
    container,
    name: 'b-keep',
    serviceKey: SERVICE_KEY,
    segmentSize: MiB,
  });
  const name = r.location.slice(r.location.lastIndexOf('/') + 1);
  const bad = await revokedToken();
  // Swift answers a manifest delete 200 with a bulk-delete report; the refusal is inside it.
  const err = await t.throwsAsync((await guestStorage(async () => bad)).remove(r.location), { instanceOf: SwiftRequestError });
  t.regex(err!.message, /^Swift DELETE .*b-keep.* failed: HTTP 401$/);
  t.false(err!.message.includes(bad), 'no token in the error');
  const swift = await rawClient(demo, 'object-store');
  t.is((await swift.head(objectPath(container, name))).status, 200, 'the manifest is still there');
  t.is((await listed(`${container}_segments`, `${name}/`)).length, 3, 'and its segments');
  await storage.remove(r.location);
  t.deepEqual(await listed(`${container}_segments`), []);
});

// The guest's Swift writer against the in-memory Swift (nock): a backup round trip through the
// pipeline, Swift's SLO on the wire, and no segments left after a failed upload.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import nock from 'nock';
import { Readable, Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ACCOUNT, FakeSwift, HOST } from '../../../test/helpers/fake-swift.js';
import { runBackup } from '../run-backup.js';
import { runRestore } from '../run-restore.js';
import { SwiftBackupStorage, SwiftRequestError } from './swift.js';

let swift: FakeSwift;
const storage = () => new SwiftBackupStorage({ endpoint: `${HOST}${ACCOUNT}`, token: async () => 'tok' });
const root = mkdtempSync(path.join(tmpdir(), 'guest-swift-'));
const chunks = (b: Buffer) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += 50_000) yield b.subarray(i, i + 50_000);
    })(),
  );

test.before(() => nock.disableNetConnect());
test.beforeEach(() => {
  nock.cleanAll();
  swift = new FakeSwift();
  swift.start();
});
test.after.always(() => {
  nock.cleanAll();
  rmSync(root, { recursive: true, force: true });
});

test.serial('backup to Swift as an SLO with metadata, restore from its location, byte-equal', async (t) => {
  const data = randomBytes(700_000);
  const r = await runBackup({
    source: chunks(data),
    format: 'xbstream',
    storage: storage(),
    container: 'database_backups',
    name: 'b-1',
    serviceKey: 'sk',
    compression: 'gzip',
    segmentSize: 200_000,
    concurrency: 2,
    metadata: { 'backup-id': 'b-1' },
  });
  t.is(r.location, `${HOST}${ACCOUNT}/database_backups/b-1.xbstream.gz.enc`);
  const manifest = swift.requests.find((q) => q.path.endsWith('?multipart-manifest=put'))!;
  t.is(manifest.headers['x-object-meta-backup-id'], 'b-1');
  t.is(manifest.headers['x-object-meta-sha256'], r.checksum);
  t.is(manifest.headers['x-object-meta-format'], 'xbstream');
  t.is(swift.containers.get('database_backups_segments')!.size, 4);
  let out = Buffer.alloc(0);
  await runRestore({
    storage: storage(),
    location: r.location,
    checksum: r.checksum,
    serviceKey: 'sk',
    stagingDir: path.join(root, 'staging'),
    sink: async () => {
      const stream = new Writable({ write: (c: Buffer, _e, cb) => ((out = Buffer.concat([out, c])), cb()) });
      return { stream, done: new Promise((res) => stream.once('finish', res)) };
    },
    commit: async () => undefined,
  });
  t.true(out.equals(data));
  t.is((await storage().head(r.location)).metadata['backup-id'], 'b-1', 'head reads the metadata without the body');
  await storage().remove(r.location);
  t.is(swift.containers.get('database_backups_segments')!.size, 0);
  t.false(swift.containers.get('database_backups')!.has('b-1.xbstream.gz.enc'));
});

test.serial('a failed segment upload fails the backup with the request named, and removes the segments', async (t) => {
  swift.failSegmentPut = 2;
  const err = await t.throwsAsync(
    runBackup({
      source: chunks(randomBytes(900_000)),
      format: 'sql',
      storage: storage(),
      container: 'bk',
      name: 'x',
      compression: 'gzip',
      segmentSize: 200_000,
    }),
    { instanceOf: SwiftRequestError },
  );
  t.regex(err!.message, /^Swift PUT bk_segments\/x\.sql\.gz\/0000000\d failed: HTTP 503$/);
  t.is(swift.containers.get('bk_segments')!.size, 0);
  t.false(swift.requests.some((q) => q.path.includes('multipart-manifest=put')));
});

test.serial('metadata known only after the body ended (finalMetadata) is on the manifest, and head reads it back', async (t) => {
  let ended = false;
  const source = chunks(randomBytes(300_000)).once('end', () => (ended = true));
  const r = await runBackup({
    source,
    format: 'xbstream',
    storage: storage(),
    container: 'bk',
    name: 'late',
    compression: 'gzip',
    segmentSize: 200_000,
    finalMetadata: () => ({ 'to-lsn': ended ? '4242' : 'too-early' }),
  });
  t.is(r.metadata['to-lsn'], '4242');
  const manifest = swift.requests.find((q) => q.path.endsWith('?multipart-manifest=put'))!;
  t.is(manifest.headers['x-object-meta-to-lsn'], '4242');
  const head = await storage().head(r.location);
  t.is(head.metadata['to-lsn'], '4242');
  t.is(head.metadata.sha256, r.checksum);
});

// One object-store suite run against every ObjectStore (the local directory tree on real files,
// the Swift driver against a nock Swift): the same behaviour from each, asserted on bytes,
// checksums and what is left behind after a failure.
import type { TestFn } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { CHECKSUM_KEY, ObjectNotFoundError, type ObjectStore } from '../../src/clients/object-store.js';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Random bytes that are not valid UTF-8 (so an HTTP fake can tell them from text). */
export function randomBinary(n: number): Buffer {
  const b = randomBytes(n);
  if (n > 0) b[0] = 0xff;
  return b;
}

/** A stream of `data` in chunks of `chunk` bytes, failing with `failAt` bytes sent if given. */
export function chunked(data: Buffer, chunk = 16 * 1024, failAt?: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < data.length; i += chunk) {
        if (failAt !== undefined && i >= failAt) throw new Error('source stream broke');
        yield data.subarray(i, i + chunk);
        await new Promise((r) => setImmediate(r));
      }
    })(),
  );
}

let seq = 0;

export function objectStoreContract(test: TestFn, make: () => Promise<ObjectStore>, label: string): void {
  const container = () => `c${process.pid}-${label}-${++seq}`;

  test(`${label}: put, get, head and list a plain object with metadata and checksums`, async (t) => {
    const s = await make();
    const c = container();
    await s.ensureContainer(c);
    await s.ensureContainer(c);
    const data = randomBinary(100_000);
    const put = await s.putObject(c, 'dir/one.bin', chunked(data), { metadata: { Kind: 'full', 'backup-id': 'b1' }, contentType: 'application/octet-stream' });
    t.deepEqual(put, { etag: md5(data), size: data.length, sha256: sha256(data), segments: 0 });
    t.true((await buffer(await s.getObject(c, 'dir/one.bin'))).equals(data));
    const head = await s.headObject(c, 'dir/one.bin');
    t.is(head.size, data.length);
    t.is(head.etag, md5(data));
    t.false(head.large);
    t.deepEqual(head.metadata, { kind: 'full', 'backup-id': 'b1', [CHECKSUM_KEY]: sha256(data) });
    t.is(head.contentType, 'application/octet-stream');
    await s.putObject(c, 'dir/two.txt', Readable.from([Buffer.from('hello world')]));
    await s.putObject(c, 'other', Readable.from([Buffer.from('x y z')]));
    t.deepEqual(
      (await s.listObjects(c, 'dir/')).map((o) => [o.name, o.size]),
      [
        ['dir/one.bin', data.length],
        ['dir/two.txt', 11],
      ],
    );
    t.deepEqual(
      (await s.listObjects(c)).map((o) => o.name),
      ['dir/one.bin', 'dir/two.txt', 'other'],
    );
  });

  test(`${label}: a large object is segments plus a manifest; delete removes both`, async (t) => {
    const s = await make();
    const c = container();
    await s.ensureContainer(c);
    const data = randomBinary(300_000);
    const put = await s.putLargeObject(c, 'backups/b1.xbstream', chunked(data, 10_000), {
      segmentSize: 64 * 1024,
      concurrency: 3,
      metadata: { format: 'xbstream' },
    });
    t.is(put.segments, 5);
    t.is(put.size, data.length);
    t.is(put.sha256, sha256(data));
    const segEtags = [0, 1, 2, 3, 4].map((i) => md5(data.subarray(i * 65536, (i + 1) * 65536)));
    t.is(put.etag, md5(segEtags.join('')), "Swift's SLO etag: md5 of the segments' etags");
    const segs = await s.listObjects(`${c}_segments`);
    t.deepEqual(
      segs.map((o) => o.name),
      [1, 2, 3, 4, 5].map((i) => `backups/b1.xbstream/0000000${i}`),
    );
    t.deepEqual(
      segs.map((o) => o.size),
      [65536, 65536, 65536, 65536, 300_000 - 4 * 65536],
    );
    const head = await s.headObject(c, 'backups/b1.xbstream');
    t.true(head.large);
    t.is(head.size, data.length);
    t.is(head.metadata[CHECKSUM_KEY], sha256(data));
    t.is(head.metadata.format, 'xbstream');
    t.true((await buffer(await s.getObject(c, 'backups/b1.xbstream'))).equals(data));
    await s.deleteObject(c, 'backups/b1.xbstream');
    await t.throwsAsync(s.headObject(c, 'backups/b1.xbstream'), { instanceOf: ObjectNotFoundError });
    t.deepEqual(await s.listObjects(`${c}_segments`), []);
    t.deepEqual(await s.listObjects(c), []);
  });

  test(`${label}: a stream that breaks leaves no manifest and no segments`, async (t) => {
    const s = await make();
    const c = container();
    await s.ensureContainer(c);
    const data = randomBinary(400_000);
    await t.throwsAsync(s.putLargeObject(c, 'broken', chunked(data, 10_000, 250_000), { segmentSize: 64 * 1024, concurrency: 2 }), {
      message: 'source stream broke',
    });
    await t.throwsAsync(s.headObject(c, 'broken'), { instanceOf: ObjectNotFoundError });
    t.deepEqual(await s.listObjects(`${c}_segments`), []);
  });

  test(`${label}: an empty stream, exact multiples of the segment size`, async (t) => {
    const s = await make();
    const c = container();
    await s.ensureContainer(c);
    const empty = await s.putLargeObject(c, 'empty', Readable.from([]), { segmentSize: 1024 });
    t.is(empty.size, 0);
    t.is(empty.sha256, sha256(Buffer.alloc(0)));
    t.is((await buffer(await s.getObject(c, 'empty'))).length, 0);
    const data = randomBinary(4096);
    const put = await s.putLargeObject(c, 'exact', chunked(data, 1000), { segmentSize: 1024, concurrency: 4 });
    t.is(put.segments, 4);
    t.true((await buffer(await s.getObject(c, 'exact'))).equals(data));
  });

  test(`${label}: missing things: not-found errors, idempotent delete, empty listing`, async (t) => {
    const s = await make();
    const c = container();
    await t.throwsAsync(s.headObject(c, 'nope'), { instanceOf: ObjectNotFoundError });
    await t.throwsAsync(s.getObject(c, 'nope'), { instanceOf: ObjectNotFoundError });
    await t.throwsAsync(s.putObject(c, 'x', Readable.from([Buffer.from('abc def')])), { instanceOf: ObjectNotFoundError });
    await s.deleteObject(c, 'nope');
    t.deepEqual(await s.listObjects(c), []);
    await t.throwsAsync(s.headObject(c, '../escape'), { message: /invalid object name/ });
  });

  test(`${label}: a location names its container and object`, async (t) => {
    const s = await make();
    const loc = await s.locationOf('database_backups', 'b 1/x+y.xbstream.zst.enc');
    t.deepEqual(await s.parseLocation(loc), { container: 'database_backups', name: 'b 1/x+y.xbstream.zst.enc' });
    await t.throwsAsync(s.parseLocation('ftp://elsewhere/x'));
  });
}

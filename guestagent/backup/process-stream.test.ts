// A process's stdin as a restore's sink: a process that exits 0 is a success however early it
// stops reading (tar at its end-of-archive blocks), and the whole stream still flows past the
// caller's checksum; a process that fails fails the pipeline with its own message.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { processSink, ProcessFailedError } from './process-stream.js';

const root = mkdtempSync(path.join(tmpdir(), 'process-sink-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const chunks = (b: Buffer, n = 64 * 1024) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n);
    })(),
  );

/** Pipes `data` into the sink through a counting stage, as stageBackup does; returns the bytes counted and their sha256. */
async function feed(data: Buffer, spec: Parameters<typeof processSink>[0]) {
  const sink = processSink(spec);
  const sha = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(c: Buffer, _e, cb) {
      sha.update(c);
      size += c.length;
      cb(null, c);
    },
  });
  await pipeline(chunks(data), count, sink.stream);
  await sink.done;
  return { size, sha: sha.digest('hex') };
}

test('a process that exits 0 without reading its input: success, and every byte still passes the checksum stage', async (t) => {
  const data = randomBytes(4 * 1024 * 1024);
  const r = await feed(data, { bin: '/bin/sh', args: ['-c', 'exit 0'] });
  t.is(r.size, data.length);
  t.is(r.sha, createHash('sha256').update(data).digest('hex'));
});

test('a process that reads exactly its input and exits before stdin is closed: success, 50 times', async (t) => {
  const data = randomBytes(256 * 1024);
  for (let i = 0; i < 50; i++) {
    const out = path.join(root, `head-${i}`);
    await feed(data, { bin: '/bin/sh', args: ['-c', `head -c ${data.length} > ${out}`] });
    t.true(readFileSync(out).equals(data));
  }
});

test('tar stops at its end-of-archive: the files are unpacked, the padding after it is read and counted', async (t) => {
  const src = path.join(root, 'src');
  mkdirSync(src);
  writeFileSync(path.join(src, 'a.bin'), randomBytes(300 * 1024));
  // an archive followed by a megabyte of zero records, like a stream padded past tar's end marker
  const archive = Buffer.concat([execFileSync('tar', ['-c', '-f', '-', '-C', src, 'a.bin'], { maxBuffer: 64 * 1024 * 1024 }), Buffer.alloc(1024 * 1024)]);
  const dest = path.join(root, 'dest');
  mkdirSync(dest);
  const r = await feed(archive, { bin: 'tar', args: ['-x', '-f', '-', '-C', dest] });
  t.is(r.size, archive.length);
  t.true(readFileSync(path.join(dest, 'a.bin')).equals(readFileSync(path.join(src, 'a.bin'))));
});

test('a process that fails while reading fails the pipeline with its own message', async (t) => {
  const data = randomBytes(4 * 1024 * 1024);
  const e = await t.throwsAsync(feed(data, { bin: '/bin/sh', args: ['-c', 'head -c 1000 >/dev/null; echo "no space left on device" >&2; exit 2'] }), {
    instanceOf: ProcessFailedError,
  });
  t.regex(e!.message, /exited with code 2: no space left on device/);
});

test('a process that fails after reading everything: the pipeline succeeds, done rejects with its message', async (t) => {
  const sink = processSink({ bin: '/bin/sh', args: ['-c', 'cat >/dev/null; echo "bad archive" >&2; exit 2'] });
  await pipeline(chunks(randomBytes(100 * 1024)), sink.stream);
  const e = await t.throwsAsync(sink.done, { instanceOf: ProcessFailedError });
  t.regex(e!.message, /bad archive/);
});

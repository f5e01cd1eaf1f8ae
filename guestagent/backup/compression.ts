// Compression of the backup stream: zstd (the binary, multi-threaded) when it is installed, else
// gzip in-process. The choice is recorded in the backup's metadata; restore follows it.
import { createGunzip, createGzip } from 'node:zlib';
import type { Duplex } from 'node:stream';
import { findExecutable, processTransform } from './process-stream.js';

export type Compression = 'zstd' | 'gzip';

/** 'auto': zstd if the binary exists, else gzip. */
export function chooseCompression(wanted: Compression | 'auto' = 'auto'): Compression {
  if (wanted !== 'auto') return wanted;
  return findExecutable('zstd') ? 'zstd' : 'gzip';
}

function zstd(): string {
  const bin = findExecutable('zstd');
  if (!bin) throw new Error('this backup is zstd-compressed but the zstd binary is not installed');
  return bin;
}

export function compressor(kind: Compression): Duplex {
  return kind === 'zstd' ? processTransform({ bin: zstd(), args: ['-q', '-c', '-3', '-T2'] }) : createGzip({ level: 6 });
}

export function decompressor(kind: Compression): Duplex {
  return kind === 'zstd' ? processTransform({ bin: zstd(), args: ['-q', '-d', '-c'] }) : createGunzip();
}

export const suffix = (kind: Compression) => (kind === 'zstd' ? 'zst' : 'gz');

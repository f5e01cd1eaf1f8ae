// The end of a log file without reading all of it: a guest's error log since a start began, a
// server's agent.log for its console output.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** The text of `file` from byte `offset` on, at most its last `maxBytes` ('' when there is no file; an offset past the end, a rotated file, reads it whole). */
export function readSince(file: string, offset = 0, maxBytes = 256 * 1024): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const from = Math.max(offset > size ? 0 : offset, size - maxBytes);
  const buf = Buffer.alloc(size - from);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8');
}

/** The last `lines` lines of a file. */
export function tailLines(file: string, lines: number, maxBytes = 256 * 1024): string {
  const all = readSince(file, 0, maxBytes).trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

// Reads a log file from a byte offset to a size read before, and hands it on in parts of at most
// `limit` bytes, cut after a line's end where the part has one: one part in memory at a time,
// never the whole log. A last line without its newline yet is left for the next publish.
import { createReadStream } from 'node:fs';

export interface LogPart {
  body: Buffer;
  lines: number;
}

const NL = 0x0a;

function countLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(NL); i !== -1; i = b.indexOf(NL, i + 1)) n++;
  return b.length && b[b.length - 1] !== NL ? n + 1 : n;
}

/** Calls `emit` for each part of file[from, to) in order; resolves with the bytes handed on. */
export async function readParts(file: string, from: number, to: number, limit: number, emit: (p: LogPart) => Promise<void>): Promise<number> {
  if (to <= from) return 0;
  let held: Buffer[] = [];
  let heldLen = 0;
  let sent = 0;
  const send = async (b: Buffer) => {
    await emit({ body: b, lines: countLines(b) });
    sent += b.length;
  };
  for await (const chunk of createReadStream(file, { start: from, end: to - 1, highWaterMark: 64 * 1024 })) {
    let c = chunk as Buffer;
    while (c.length) {
      const take = Math.min(c.length, limit - heldLen);
      held.push(c.subarray(0, take));
      heldLen += take;
      c = c.subarray(take);
      if (heldLen < limit) continue;
      const full = Buffer.concat(held, heldLen);
      // cut after the last complete line; a single line longer than the limit is cut at the limit
      const cut = full.lastIndexOf(NL) + 1 || full.length;
      await send(full.subarray(0, cut));
      const rest = full.subarray(cut);
      held = rest.length ? [Buffer.from(rest)] : [];
      heldLen = rest.length;
    }
  }
  const last = Buffer.concat(held, heldLen);
  const cut = last.lastIndexOf(NL) + 1;
  if (cut > 0) await send(last.subarray(0, cut));
  return sent;
}

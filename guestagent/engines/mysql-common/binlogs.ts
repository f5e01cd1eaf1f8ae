// Binary logs for point-in-time restores: the closed ones listed for the guest's archiver (FLUSH
// BINARY LOGS first, so everything up to now is in a closed file), the position a restored
// physical backup stops at (xtrabackup_binlog_info), and the replay of archived logs from there up
// to a time (mariadb-binlog --stop-datetime piped into the server).
import { existsSync, openSync, readSync, closeSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ClosedLog, LogPosition } from '../../capabilities.js';
import { processSink, processSource } from '../../backup/process-stream.js';
import type { MysqlLifecycle } from './lifecycle.js';

/** The time of a binlog's first event (its format description event's header, after the 4-byte magic). */
function firstEventTime(file: string): Date {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, 0);
    return new Date(b.readUInt32LE(4) * 1000);
  } finally {
    closeSync(fd);
  }
}

/**
 * Where the current binary log stood right after the last rotation (nothing written since: no
 * rotation), and the server's GTID position then. Transactions move the GTID position; MariaDB's
 * binlog background thread also appends a Binlog_checkpoint event to the new log a moment after a
 * rotation, which moves the file position though nothing was written: where the server keeps GTIDs
 * (MariaDB's gtid_binlog_pos, MySQL's gtid_executed) they decide, else the file position.
 */
export interface Rotation {
  file?: string;
  position?: number;
  gtid?: string;
}

/** Rotates the binary log if anything was written since the last rotation; the files before the current one, with their time span. */
export async function closedBinlogs(lifecycle: MysqlLifecycle, last: Rotation): Promise<ClosedLog[]> {
  const c = await lifecycle.admin.connect();
  try {
    const status = async () => ((await c.query('SHOW MASTER STATUS')) as unknown as [Array<{ File: string; Position: number }>])[0][0];
    const gtidPosition = async () => {
      const [rows] = (await c.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('gtid_binlog_pos', 'gtid_executed')")) as unknown as [
        Array<{ Variable_name: string; Value: string }>,
      ];
      return rows.map((r) => `${r.Variable_name}=${r.Value}`).join(';');
    };
    const now = await status();
    const gtid = await gtidPosition();
    const hasGtids = /=[^;]/.test(gtid);
    const written = !now || now.File !== last.file || (hasGtids ? gtid !== last.gtid : Number(now.Position) !== last.position);
    if (written) {
      await c.query('FLUSH BINARY LOGS');
      const after = await status();
      last.file = after?.File;
      last.position = after ? Number(after.Position) : undefined;
      last.gtid = gtid; // a rotation writes no transaction: the position read before it stands
    }
    const [rows] = (await c.query('SHOW BINARY LOGS')) as unknown as [Array<{ Log_name: string }>];
    return rows
      .slice(0, -1)
      .map((r) => {
        const file = path.join(lifecycle.paths.dataDir, r.Log_name);
        return { name: r.Log_name, path: file, firstEvent: firstEventTime(file), lastEvent: statSync(file).mtime };
      })
      .filter((l) => existsSync(l.path));
  } finally {
    await c.end();
  }
}

/** Where the restored physical backup stops in the source's binary logs. */
export function restoredBinlogPosition(dataDir: string): LogPosition {
  const file = path.join(dataDir, 'xtrabackup_binlog_info');
  if (!existsSync(file))
    throw new Error(
      'the restored backup records no binary log position (xtrabackup_binlog_info); a point-in-time restore needs a physical backup taken with binary logs on',
    );
  const [name, pos] = readFileSync(file, 'utf8').trim().split(/\s+/);
  if (!name || !pos || !/^\d+$/.test(pos)) throw new Error("the restored backup's binary log position is unreadable");
  return { file: name, position: Number(pos) };
}

const utc = (d: Date) =>
  d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');

/** mariadb-binlog of the files (from `from` in the first) up to `stopAt`, into the server as os_admin. */
export async function replayBinlogs(
  tools: { binlog: string; client: string },
  credentialsFile: string,
  files: string[],
  from: LogPosition,
  stopAt: Date,
): Promise<void> {
  if (!files.length) return;
  if (path.basename(files[0]!) !== from.file) throw new Error(`the replay must start with the binary log ${from.file}`);
  const source = processSource({
    bin: tools.binlog,
    args: ['--no-defaults', `--start-position=${from.position}`, `--stop-datetime=${utc(stopAt)}`, ...files],
    env: { TZ: 'UTC' },
  });
  const sink = processSink({ bin: tools.client, args: [`--defaults-file=${credentialsFile}`, '--binary-mode'] });
  await pipeline(source, sink.stream);
  await sink.done;
}

// What every trove-manage command gets: the global options, the parsed config, a database
// connection, and the error type that ends the command with exit code 2.
import { readRawConfig, type RawConfig } from '../../src/common/config/reader.js';
import { configSection } from '../../src/common/config/schema.js';
import { databaseSection } from '../../src/db/config.js';
import { openDatabase, type Db } from '../../src/db/connection.js';

/** The options given before the command (main.ts declares them). */
export interface GlobalOptions {
  configFile: string[];
  skipImageCheck?: boolean;
}

/** A bad argument or a missing thing the operator named: message on stderr, exit code 2. */
export class UsageError extends Error {}

export interface ManageContext {
  raw: RawConfig;
  db: Db;
  out(line: string): void;
}

export async function withContext<T>(configFiles: string[], fn: (ctx: ManageContext) => Promise<T>): Promise<T> {
  const raw = readRawConfig({ files: configFiles });
  const db = openDatabase(configSection(raw, 'database', databaseSection));
  try {
    return await fn({ raw, db, out: (line) => process.stdout.write(`${line}\n`) });
  } finally {
    await db.destroy();
  }
}

// After a restore: the databases and users the create call named, made on the restored data as
// Trove's prepare does (restore first, then create_database and create_user). A database or user
// the backup already has is kept as the backup has it (its password, its grants), not an error.
import type { Logger } from '../src/common/log.js';
import { NotSupportedError, type DatabaseSpec, type Engine, type UserSpec } from './capabilities.js';

async function existingDatabases(engine: Engine): Promise<Set<string>> {
  const names = new Set<string>();
  let marker: string | undefined;
  for (;;) {
    const page = await engine.databases!.listDatabases(100, marker);
    for (const d of page.items) names.add(d.name);
    if (!page.nextMarker) return names;
    marker = page.nextMarker;
  }
}

export async function createAfterRestore(engine: Engine, databases: DatabaseSpec[], users: UserSpec[], log: Logger): Promise<void> {
  if (databases.length) {
    if (!engine.databases) throw new NotSupportedError(`Databases are not supported for the '${engine.name}' datastore.`);
    const have = await existingDatabases(engine);
    const missing = databases.filter((d) => !have.has(d.name));
    if (missing.length) await engine.databases.createDatabases(missing);
    const kept = databases.filter((d) => have.has(d.name)).map((d) => d.name);
    if (kept.length) log.info({ databases: kept }, 'restore: databases the backup already has are kept');
  }
  if (users.length) {
    if (!engine.users) throw new NotSupportedError(`Users are not supported for the '${engine.name}' datastore.`);
    const missing: UserSpec[] = [];
    const kept: string[] = [];
    for (const u of users) {
      if (await engine.users.getUser(u.name, u.host)) kept.push(`${u.name}@${u.host}`);
      else missing.push(u);
    }
    if (missing.length) await engine.users.createUsers(missing);
    if (kept.length) log.info({ users: kept }, 'restore: users the backup already has are kept as they are there');
  }
}

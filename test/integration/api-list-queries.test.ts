// Every list endpoint answers a page with a fixed number of queries whatever its size: the
// queries knex runs for one request (its 'query' events) are counted for pages of 1, 5 and 20 rows
// that hold everything a row can show (replicas, faults, configurations, running backups), on
// MariaDB and on SQLite. And a page shows each instance as show does.
import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { startApi, type Harness } from '../helpers/api-harness.js';
import { seedInstances, type Seeded } from '../helpers/seed-instances.js';

const P = 'proj-pages';
const MEMBER = { token: 'tok-pages-member', projectId: P, roles: ['member'] };
const ADMIN = { token: 'tok-pages-admin', projectId: 'proj-pages-admin', roles: ['admin'] };

interface Counted {
  queries: number;
  body: Record<string, unknown>;
}

async function counted(t: ExecutionContext, h: Harness, path: string, token = MEMBER.token): Promise<Counted> {
  let queries = 0;
  const count = () => (queries += 1);
  h.tdb.db.on('query', count);
  try {
    const r = await h.as(token).get(path);
    t.is(r.status, 200, `${path}: ${JSON.stringify(r.data)}`);
    return { queries, body: r.data as Record<string, unknown> };
  } finally {
    h.tdb.db.off('query', count);
  }
}

/** The query counts of pages of 1, 5 and 20 rows of `path` (whose list is under `key`), which must be equal. */
async function samePerPage(t: ExecutionContext, h: Harness, path: string, key: string, token = MEMBER.token): Promise<number> {
  const sep = path.includes('?') ? '&' : '?';
  const counts: number[] = [];
  for (const limit of [1, 5, 20]) {
    const c = await counted(t, h, `${path}${sep}limit=${limit}`, token);
    t.is((c.body[key] as unknown[]).length, limit, `${path}: a full page of ${limit}`);
    counts.push(c.queries);
  }
  t.log(`${path}: ${counts.join(', ')} queries for pages of 1, 5, 20`);
  t.deepEqual(counts, [counts[0], counts[0], counts[0]], `${path}: the count does not grow with the page`);
  return counts[0]!;
}

const dialects = [
  ['MariaDB', false],
  ['SQLite', true],
] as const;

for (const [dialect, sqlite] of dialects) {
  let h: Harness;
  let seeded: Seeded;

  test.serial.before(async () => {
    h = await startApi({ sqlite, users: [MEMBER, ADMIN] });
    seeded = await seedInstances(h.tdb.db, P, 26);
    // enough groups for a page of 20
    const version = (await h.tdb.db('configurations').first('datastore_version_id')).datastore_version_id as string;
    const now = Date.now();
    await h.tdb.db('configurations').insert(
      Array.from({ length: 20 }, (_, k) => ({
        id: randomUUID(),
        name: `more-${k}`,
        tenant_id: P,
        datastore_version_id: version,
        deleted: false,
        created: new Date(now + k * 1000),
        updated: new Date(now + k * 1000),
      })),
    );
  });
  test.serial.after.always(() => h?.close());

  test.serial(`${dialect}: the instance lists take the same queries for 1, 5 and 20 rows, with a marker too`, async (t) => {
    const base = `/v1.0/${P}/instances`;
    // the page's rows with their faults, running backups and replicas
    t.is(await samePerPage(t, h, base, 'instances'), 1);
    t.is(await samePerPage(t, h, `${base}/detail`, 'instances'), 1);
    t.is(await samePerPage(t, h, `/v1.0/${ADMIN.projectId}/mgmt/instances?deleted=false`, 'instances', ADMIN.token), 1);
    // the next pages, after a marker: the marker's row, the page's ids alone, then their rows (see listInstanceViews)
    t.is(await samePerPage(t, h, `${base}/detail?marker=${seeded.ids[2]!}`, 'instances'), 3);
  });

  test.serial(`${dialect}: the backup, configuration and datastore lists take the same queries for 1, 5 and 20 rows`, async (t) => {
    const project = `/v1.0/${P}`;
    await h.tdb.db('backups').insert(
      Array.from({ length: 20 }, (_, k) => ({
        id: randomUUID(),
        name: `extra-${k}`,
        state: 'COMPLETED',
        tenant_id: P,
        instance_id: seeded.ids[0],
        deleted: false,
        created: new Date(),
        updated: new Date(Date.now() - k * 1000),
      })),
    );
    t.true((await samePerPage(t, h, `${project}/backups`, 'backups')) <= 1);
    t.true((await samePerPage(t, h, `${project}/instances/${seeded.ids[0]}/backups`, 'backups')) <= 2);
    t.true((await samePerPage(t, h, `${project}/configurations`, 'configurations')) <= 1);

    // datastores are not paged: their count is the same with 3 datastores and with 23
    const before = await counted(t, h, `${project}/datastores`);
    const versionsBefore = await counted(t, h, `${project}/datastores/${seeded.datastores.mariadb}/versions`);
    for (let k = 0; k < 20; k++) {
      const id = randomUUID();
      await h.tdb.db('datastores').insert({ id, name: `engine-${k}` });
      await h.tdb.db('datastore_versions').insert({ id: randomUUID(), datastore_id: id, name: '1', version: '1.0', manager: 'mariadb', active: true });
      await h.tdb
        .db('datastore_versions')
        .insert({ id: randomUUID(), datastore_id: seeded.datastores.mariadb, name: `11.${k}`, version: `11.${k}.0`, manager: 'mariadb', active: true });
    }
    const after = await counted(t, h, `${project}/datastores`);
    const versionsAfter = await counted(t, h, `${project}/datastores/${seeded.datastores.mariadb}/versions`);
    t.is((after.body.datastores as unknown[]).length, (before.body.datastores as unknown[]).length + 20);
    t.is((versionsAfter.body.versions as unknown[]).length, (versionsBefore.body.versions as unknown[]).length + 20);
    t.is(after.queries, before.queries);
    t.is(versionsAfter.queries, versionsBefore.queries);
    t.log(`datastores: ${after.queries} queries; a datastore's versions: ${versionsAfter.queries}`);
  });

  test.serial(`${dialect}: a page shows every instance as show does, with its replicas, fault, configuration and backup`, async (t) => {
    const page = (await counted(t, h, `/v1.0/${P}/instances/detail?limit=20`)).body.instances as Array<Record<string, unknown>>;
    t.deepEqual(
      page.map((i) => i.id),
      seeded.ids.slice(0, 20),
    );
    for (const i of page) {
      const show = await h.as(MEMBER.token).get(`/v1.0/${P}/instances/${String(i.id)}`);
      t.deepEqual(i, show.data.instance);
    }
    // show: the instance, its views' rows and its newest metrics sample in one query (the thresholds only when there is a sample)
    t.is((await counted(t, h, `/v1.0/${P}/instances/${seeded.ids[0]!}`)).queries, 1);
    const [source, replica] = page;
    t.is(source!.status, 'BACKUP', 'rank 0 has a running backup');
    t.deepEqual((source!.replicas as Array<{ id: string }>).map((r) => r.id).sort(), seeded.ids.slice(1, 3).sort());
    t.is((source!.configuration as { name: string }).name, 'group-0');
    t.deepEqual(source!.datastore, { type: 'mariadb', version: '10.11', version_number: '10.11.19' });
    t.is(replica!.status, 'ERROR');
    t.deepEqual((replica!.replica_of as { id: string }).id, seeded.ids[0]);
    t.deepEqual((replica!.fault as { message: string }).message, 'Resize failed', 'the newest fault that is not cleared');
    // the fault's time (read inside a JSON value) is the UTC time it was written: the seed writes it 1 s after the instance's creation
    const created = new Date(`${String(replica!.created)}Z`).getTime();
    t.is((replica!.fault as { created: string }).created, new Date(created + 1000).toISOString().replace(/\.\d{3}Z$/, ''));
    const summary = (await counted(t, h, `/v1.0/${P}/instances?limit=3`)).body.instances as Array<Record<string, unknown>>;
    for (const [k, s] of summary.entries()) {
      // the summary: the detail's fields but the datastore's version number and the volume's use
      const { version_number: _, ...datastore } = page[k]!.datastore as Record<string, unknown>;
      const volume = { size: (page[k]!.volume as { size: number }).size };
      const expected: Record<string, unknown> = { ...page[k]!, datastore, volume };
      t.deepEqual(s, Object.fromEntries(Object.keys(s).map((key) => [key, expected[key]])));
    }
  });
}

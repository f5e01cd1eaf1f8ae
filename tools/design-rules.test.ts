// The layout rules of ../shared/design.md, checked on the sources: engine names only inside
// guestagent/engines/ (and etc/). The import boundaries (the guest importing only src/common and
// src/rpc, nothing in src/ importing guestagent/, the three services never importing each other)
// are ESLint rules (eslint.config.js, `npm run lint`), and so is "SQL only in src/db"; the tests
// below show that they catch a crossing.
import test from 'ava';
import { ESLint } from 'eslint';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const ENGINES = ['mariadb', 'mysql', 'postgresql', 'postgres', 'redis'];

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

test('no engine name as a value outside guestagent/engines (the control plane asks the guest or the datastore version)', (t) => {
  const literal = new RegExp(`['"\`](${ENGINES.join('|')})['"\`]`, 'i');
  const hits: string[] = [];
  for (const file of [...sources('src'), ...sources('tools'), ...sources('guestagent').filter((f) => !f.startsWith('guestagent/engines/'))]) {
    readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (literal.test(line) && !line.trim().startsWith('//') && !line.trim().startsWith('*')) hits.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  t.deepEqual(hits, []);
});

/** The messages ESLint gives a would-be file at `file` (relative to the root) with `code`. */
async function lint(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

const crossings: Array<[string, string, RegExp]> = [
  [
    'guestagent/engines/x.ts',
    "import { getInstance } from '../../src/db/instances.js';\nexport const f = getInstance;\n",
    /guest agent imports only src\/common and src\/rpc/,
  ],
  ['src/db/x.ts', "import { guestHandlers } from '../../guestagent/manager.js';\nexport const f = guestHandlers;\n", /never imports the guest agent/],
  ['src/api/x.ts', "import { registerFlows } from '../taskmanager/manager.js';\nexport const f = registerFlows;\n", /src\/api never imports src\/taskmanager/],
  ['src/conductor/x.ts', "import { createApp } from '../api/app.js';\nexport const f = createApp;\n", /src\/conductor never imports src\/api/],
  ['src/common/x.ts', "import { openDatabase } from '../db/connection.js';\nexport const f = openDatabase;\n", /src\/common imports only src\/common/],
];

for (const [file, code, message] of crossings) {
  test(`lint refuses a crossing: ${file} importing ${/from '([^']+)'/.exec(code)![1]}`, async (t) => {
    const messages = await lint(file, code);
    t.true(
      messages.some((m) => m.startsWith('import-x/no-restricted-paths') && message.test(m)),
      messages.join('\n'),
    );
  });
}

test('lint lets the allowed directions through', async (t) => {
  t.deepEqual(await lint('guestagent/x.ts', "import { createLogger } from '../src/common/log.js';\nexport const f = createLogger;\n"), []);
  t.deepEqual(await lint('src/api/x.ts', "import { getInstance } from '../db/instances.js';\nexport const f = getInstance;\n"), []);
});

const SQL_ONLY_IN_DB = /^no-restricted-(syntax|imports): .*SQL is written only in src\/db/;

/** Ways code outside src/db could reach the database without a repository function. */
const queries: Array<[string, string]> = [
  [
    'src/taskmanager/x.ts',
    "import type { TaskContext } from './context.js';\nexport const f = (ctx: TaskContext) => ctx.db('instances').where({ deleted: false }).select('id');\n",
  ],
  [
    'src/taskmanager/x.ts',
    "import type { TaskContext } from './context.js';\nexport const f = (ctx: TaskContext) => ctx.db.transaction(async (trx) => trx('backups').update({ state: 'FAILED' }));\n",
  ],
  [
    'src/conductor/x.ts',
    "import type { Db } from '../db/connection.js';\nexport const f = (db: Db) => db('service_statuses').where({ instance_id: 'x' }).first();\n",
  ],
  ['src/conductor/x.ts', "import type { Db } from '../db/connection.js';\nexport const f = (db: Db) => db.raw('select 1');\n"],
  // the handle under another name still meets a table name
  ['src/conductor/x.ts', "import type { Db } from '../db/connection.js';\nexport const f = (q: Db) => q('conductor_lastseen as l').first();\n"],
  ['src/api/x.ts', "import type { ApiDeps } from './deps.js';\nexport const f = (deps: ApiDeps) => deps.db('quotas').delete();\n"],
  ['src/conductor/x.ts', "import knex from 'knex';\nexport const f = knex;\n"],
  ['tools/trove-manage/x.ts', "export type K = import('knex').Knex;\n"],
];

for (const [file, code] of queries) {
  test(`lint refuses SQL outside src/db: ${file}: ${code.trim().split('\n').at(-1)!.slice(0, 90)}`, async (t) => {
    const messages = await lint(file, code);
    t.true(
      messages.some((m) => SQL_ONLY_IN_DB.test(m)),
      messages.join('\n'),
    );
  });
}

test('lint lets src/db query, src/cmd hold and close the handle, and the rest call repository functions', async (t) => {
  t.deepEqual(
    await lint('src/db/x.ts', "import type { Db } from './connection.js';\nexport const f = (db: Db) => db('instances').where({ id: 'x' }).first();\n"),
    [],
  );
  t.deepEqual(await lint('src/cmd/x.ts', "import type { Db } from '../db/connection.js';\nexport const f = (db: Db) => db.destroy();\n"), []);
  t.deepEqual(
    await lint(
      'src/conductor/x.ts',
      "import { getInstance } from '../db/instances.js';\nimport type { Db } from '../db/connection.js';\nexport const f = (db: Db) => getInstance(db, 'x');\n",
    ),
    [],
  );
});

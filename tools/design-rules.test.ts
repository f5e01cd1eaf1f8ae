// The layout rules of ../shared/design.md, checked on the sources: engine names only inside
// guestagent/engines/ (and etc/). The import boundaries (the guest importing only src/common and
// src/rpc, nothing in src/ importing guestagent/, the three services never importing each other)
// are ESLint rules (eslint.config.js, `npm run lint`); the tests below show that they catch a
// crossing.
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

// The layout rules of ../shared/design.md, checked on the sources: engine names only inside
// guestagent/engines/ (and etc/), the guest importing only src/common and src/rpc, nothing in src/
// importing guestagent/, and the three services never importing each other.
import test from 'ava';
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

const imports = (file: string): string[] => [...readFileSync(path.join(ROOT, file), 'utf8').matchAll(/from '(\.[^']+)'/g)].map((m) => path.join(path.dirname(file), m[1]!));

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

test('the guest imports only src/common and src/rpc; nothing in src imports the guest', (t) => {
  const bad: string[] = [];
  for (const file of sources('guestagent')) {
    for (const target of imports(file)) {
      if (target.startsWith('src/') && !target.startsWith('src/common/') && !target.startsWith('src/rpc/')) bad.push(`${file} → ${target}`);
    }
  }
  for (const file of sources('src')) for (const target of imports(file)) if (target.startsWith('guestagent/')) bad.push(`${file} → ${target}`);
  t.deepEqual(bad, []);
});

test('api, taskmanager and conductor never import each other', (t) => {
  const services = ['api', 'taskmanager', 'conductor'];
  const bad: string[] = [];
  for (const s of services) {
    for (const file of sources(`src/${s}`)) {
      for (const target of imports(file)) {
        const other = services.find((o) => o !== s && target.startsWith(`src/${o}/`));
        if (other) bad.push(`${file} → ${target}`);
      }
    }
  }
  t.deepEqual(bad, []);
});

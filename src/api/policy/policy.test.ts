import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Policy, type Credentials } from './policy.js';
import { DEFAULT_RULES, RENAMED_RULES } from './defaults.js';
import { ConfigError, PolicyNotAuthorizedError } from '../../common/errors.js';
import type { RequestContext } from '../../common/context.js';

const creds = (roles: string[], project_id = 'P', is_admin = false): Credentials => ({ roles, project_id, user_id: 'u', is_admin });
const member = creds(['member']);
const reader = creds(['reader']);
const admin = creds(['admin'], 'ADMIN-PROJECT');
const onP = { tenant: 'P' };
const onQ = { tenant: 'Q' };
const policy = Policy.load();

function policyFile(text: string, name = 'policy.yaml'): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'trove-policy-')), name);
  writeFileSync(file, text);
  return file;
}

test('a member of project P may show instances of P, not of Q', (t) => {
  t.true(policy.enforce('instance:show', member, onP));
  t.false(policy.enforce('instance:show', member, onQ));
  t.true(policy.enforce('instance:delete', member, onP));
  t.false(policy.enforce('instance:delete', member, onQ));
  t.false(policy.enforce('instance:reset_status', member, onP), 'rule:admin');
  t.false(policy.enforce('backup:index:all_projects', member, onP), 'role:admin');
  t.true(policy.enforce('instance:index', member), "no target → the caller's own project");
});

test('an admin is allowed everywhere, by role or by is_admin', (t) => {
  const everyAction = Object.keys(DEFAULT_RULES).filter((name) => name !== 'reader_only'); // a condition, not an action
  t.deepEqual(
    everyAction.filter((a) => !policy.enforce(a, admin, onQ)),
    [],
  );
  t.deepEqual(
    everyAction.filter((a) => !policy.enforce(a, creds(['member'], 'X', true), onQ)),
    ['context_is_admin', 'backup:index:all_projects'],
  );
  t.true(policy.enforce('instance:reset_status', creds(['ADMIN']), onQ), 'role names compare case-insensitively');
});

test('a reader reads its own project and writes nothing; with member too it writes', (t) => {
  t.true(policy.enforce('instance:show', reader, onP));
  t.true(policy.enforce('backup:index', reader, onP));
  t.false(policy.enforce('instance:show', reader, onQ));
  for (const action of ['instance:create', 'instance:delete', 'backup:create', 'configuration:update', 'instance:extension:user:create']) {
    t.false(policy.enforce(action, reader, onP), action);
  }
  t.true(policy.enforce('instance:create', creds(['reader', 'member']), onP));
  t.true(policy.enforce('instance:create', creds(['custom']), onP), 'as Trove: any other role of the project writes');
});

test('anyone with a token lists datastores and flavors', (t) => {
  t.true(policy.enforce('datastore:index', creds([]), onQ));
  t.true(policy.enforce('flavor:show', creds([]), onQ));
  t.false(policy.enforce('datastore:delete', member, onP));
});

test('an unknown action is checked against default (admin_or_owner), as oslo', (t) => {
  t.true(policy.enforce('no:such:action', member, onP));
  t.false(policy.enforce('no:such:action', member, onQ));
  t.true(policy.enforce('no:such:action', admin, onQ));
  const strict = new Policy({ default: '!' });
  t.false(strict.enforce('anything', admin, onP));
  t.false(new Policy({}).enforce('anything', admin, onP), 'no default rule → refused');
});

test('a rule naming an unknown rule falls back to default', (t) => {
  const p = new Policy({ default: 'role:x', a: 'rule:nowhere' });
  t.true(p.enforce('a', creds(['x']), onP));
  t.false(p.enforce('a', member, onP));
});

test("Trove's renamed datastore version rules answer for the old names", (t) => {
  for (const name of Object.values(RENAMED_RULES)) t.true(name in DEFAULT_RULES, name);
  const p = Policy.load(policyFile('"datastore:version_index": "role:dba"\n'));
  t.false(p.enforce('datastore:version:index', member, onP));
  t.true(p.enforce('datastore:version:index', creds(['dba']), onP));
});

test('authorize throws a 403 naming the action, from a RequestContext or credentials', (t) => {
  const context: RequestContext = {
    requestId: 'r',
    projectId: 'P',
    projectName: 'p',
    userId: 'u',
    userName: 'u',
    roles: ['member'],
    isAdmin: false,
    authToken: 't',
  };
  t.notThrows(() => policy.authorize('instance:show', context));
  t.notThrows(() => policy.authorize('instance:show', context, 'P'));
  const err = t.throws(() => policy.authorize('instance:show', context, 'Q'), { instanceOf: PolicyNotAuthorizedError });
  t.is(err?.message, "Policy doesn't allow instance:show to be performed.");
  t.is(err?.httpStatus, 403);
  t.throws(() => policy.authorize('instance:create', reader, { tenant: 'P' }), { instanceOf: PolicyNotAuthorizedError });
  t.notThrows(() => policy.authorize('instance:reset_status', { ...context, isAdmin: true }, 'Q'));
});

test("admin_roles makes a role an administrator, as Trove's [DEFAULT] admin_roles", (t) => {
  const dba = creds(['DBA'], 'P');
  const p = Policy.load(undefined, { adminRoles: ['dba'] });
  t.true(p.enforce('instance:delete', dba, onQ));
  t.true(p.isAdmin(dba));
  t.false(p.isAdmin(member));
  t.false(policy.enforce('instance:delete', dba, onQ));
  t.false(policy.isAdmin(dba), 'without admin_roles: the context_is_admin rule (role:admin)');
  t.true(policy.isAdmin(creds(['admin'])));
});

test('generic checks: tenant and literal fields', (t) => {
  const p = new Policy({ own: 'tenant:%(tenant)s', pinned: "project_id:'P'", named: 'user_id:%(owner)s' });
  t.true(p.enforce('own', member, onP));
  t.false(p.enforce('own', member, onQ));
  t.true(p.enforce('pinned', member, onQ));
  t.false(p.enforce('pinned', creds([], 'Q'), onQ));
  t.true(p.enforce('named', member, { owner: 'u' }));
  t.false(p.enforce('named', member, onP));
});

test('a policy file replaces defaults by name and keeps the rest', (t) => {
  const p = Policy.load(policyFile('"instance:show": "role:auditor and project_id:%(tenant)s"\n"custom": "rule:admin"\n'));
  t.false(p.enforce('instance:show', member, onP));
  t.true(p.enforce('instance:show', creds(['auditor']), onP));
  t.false(p.enforce('instance:show', creds(['auditor']), onQ));
  t.true(p.enforce('instance:index', member, onP), 'untouched defaults remain');
  t.true(p.names().includes('custom'));
  const json = Policy.load(policyFile('{"datastore:index": "rule:admin"}', 'policy.json'));
  t.false(json.enforce('datastore:index', member, onP));
  t.true(Policy.load(policyFile('# nothing but comments\n')).enforce('instance:show', member, onP));
});

test('a malformed rule, a cycle or a bad file is a ConfigError naming it', (t) => {
  const bad = policyFile('"instance:show": "role:a or or role:b"\n');
  t.throws(() => Policy.load(bad), { instanceOf: ConfigError, message: `policy file ${bad}: rule "instance:show": unexpected "or"` });
  t.throws(() => Policy.load(policyFile('"admin": ["role:admin"]\n')), { instanceOf: ConfigError, message: /rule "admin": expected a rule string/ });
  t.throws(() => Policy.load(policyFile('- a\n- b\n')), { instanceOf: ConfigError, message: /expected a mapping/ });
  t.throws(() => Policy.load(policyFile('a: [\n')), { instanceOf: ConfigError, message: /policy file/ });
  t.throws(() => Policy.load('/nonexistent/policy.yaml'), { instanceOf: ConfigError, message: /\/nonexistent\/policy.yaml/ });
  t.throws(() => new Policy({ a: 'rule:b or role:x', b: 'rule:a' }), { instanceOf: ConfigError, message: /rule "a" refers back to itself \(a → b → a\)/ });
  t.throws(() => new Policy({ default: 'rule:nowhere' }), { instanceOf: ConfigError, message: /rule "default" refers back to itself/ });
});

test('etc/policy.yaml lists every built-in rule with its default value', (t) => {
  const file = parseYaml(readFileSync(new URL('../../../etc/policy.yaml', import.meta.url), 'utf8')) as Record<string, string>;
  t.deepEqual(file, { ...DEFAULT_RULES });
  const upstream = [
    'context_is_admin',
    'admin',
    'admin_or_owner',
    'default',
    'instance:force_delete',
    'instance:module_remove',
    'cluster:reset-status',
    'backup_strategy:delete',
    'configuration-parameter:show_by_version',
    'datastore:version_show_by_uuid',
    'module:reapply',
  ];
  t.deepEqual(
    upstream.filter((n) => !(n in file)),
    [],
  );
  t.is(file.admin, 'role:admin or is_admin:True');
  t.is(file['backup:index:all_projects'], 'role:admin');
});

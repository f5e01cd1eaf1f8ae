import test from 'ava';
import { evaluate, pyStr, substitute, type Scope } from './evaluate.js';
import { parseRule } from './parser.js';

const creds = { roles: ['Member', 'reader'], project_id: 'P', user_id: 'u1', is_admin: false, groups: [{ id: 'g1' }, { id: 'g2' }] };
const check = (rule: string, target: Record<string, unknown> = { tenant: 'P' }, named: Record<string, string> = {}): boolean => {
  const scope: Scope = { creds, target, resolve: (n) => (n in named ? parseRule(named[n]!) : undefined) };
  return evaluate(parseRule(rule), scope);
};

test('roles compare case-insensitively and may come from the target', (t) => {
  t.true(check('role:member'));
  t.true(check('role:READER'));
  t.false(check('role:admin'));
  t.true(check('role:%(wanted)s', { wanted: 'MEMBER' }));
  t.false(check('role:%(wanted)s', {}), 'missing target key → false');
});

test('fields compare with the substituted target, as Python str()', (t) => {
  t.true(check('project_id:%(tenant)s'));
  t.false(check('project_id:%(tenant)s', { tenant: 'Q' }));
  t.false(check('project_id:%(tenant)s', {}), 'missing target key → false');
  t.true(check('is_admin:False'));
  t.false(check('is_admin:True'));
  t.false(check('is_admin:false'), 'case matters, as in oslo');
  t.true(check("user_id:'u1'"));
  t.true(check('project_id:%(a)s%(b)s', { a: '', b: 'P' }));
  t.true(check('groups.id:g2'), 'a list along the path matches on any element');
  t.false(check('groups.id:g3'));
  t.false(check('nosuch:x'));
  t.false(check('user_id.deeper:x'));
});

test('literals on the left compare with the target', (t) => {
  t.true(check("'Member':%(role)s", { role: 'Member' }));
  t.false(check("'Member':%(role)s", { role: 'member' }));
  t.true(check('True:%(enabled)s', { enabled: true }));
  t.true(check('7:%(n)s', { n: 7 }));
});

test('and / or / not and named rules; an unresolved name refuses', (t) => {
  t.true(check('role:admin or role:member and project_id:%(tenant)s'));
  t.false(check('(role:admin or role:member) and project_id:%(tenant)s', { tenant: 'Q' }));
  t.true(check('not role:admin'));
  t.true(check('rule:owner', { tenant: 'P' }, { owner: 'project_id:%(tenant)s' }));
  t.false(check('rule:owner', { tenant: 'Q' }, { owner: 'project_id:%(tenant)s' }));
  t.false(check('rule:missing'));
  t.true(check('@'));
  t.false(check('!'));
});

test('substitute and pyStr follow Python', (t) => {
  t.is(substitute('%(a)s-%%-%(b)s', { a: 1, b: null }), '1-%-None');
  t.is(substitute('%(a)s', {}), undefined);
  t.is(pyStr(true), 'True');
  t.is(pyStr(undefined), 'None');
});

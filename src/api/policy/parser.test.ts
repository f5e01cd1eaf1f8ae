import test from 'ava';
import { parseRule, PolicySyntaxError, referencedRules } from './parser.js';

const role = (match: string) => ({ kind: 'role', match });

test('and binds tighter than or, whichever comes first', (t) => {
  t.deepEqual(parseRule('role:a or role:b and role:c'), { kind: 'or', rules: [role('a'), { kind: 'and', rules: [role('b'), role('c')] }] });
  t.deepEqual(parseRule('role:a and role:b or role:c'), { kind: 'or', rules: [{ kind: 'and', rules: [role('a'), role('b')] }, role('c')] });
  t.deepEqual(parseRule('role:a OR role:b Or role:c'), { kind: 'or', rules: [role('a'), role('b'), role('c')] });
});

test('not binds tighter than and; parentheses regroup', (t) => {
  t.deepEqual(parseRule('not role:a and role:b'), { kind: 'and', rules: [{ kind: 'not', rule: role('a') }, role('b')] });
  t.deepEqual(parseRule('not (role:a or @)'), { kind: 'not', rule: { kind: 'or', rules: [role('a'), { kind: 'always' }] } });
  t.deepEqual(parseRule('not not !'), { kind: 'not', rule: { kind: 'not', rule: { kind: 'never' } } });
  t.deepEqual(parseRule('((role:a or role:b)) and role:c'), { kind: 'and', rules: [{ kind: 'or', rules: [role('a'), role('b')] }, role('c')] });
});

test('checks: rule, role, fields with substitutions, literals on either side', (t) => {
  t.deepEqual(parseRule(''), { kind: 'always' });
  t.deepEqual(parseRule('   '), { kind: 'always' });
  t.deepEqual(parseRule('@'), { kind: 'always' });
  t.deepEqual(parseRule('rule:admin_or_owner'), { kind: 'rule', name: 'admin_or_owner' });
  t.deepEqual(parseRule('(project_id:%(tenant)s)'), { kind: 'field', path: ['project_id'], match: '%(tenant)s' });
  t.deepEqual(parseRule('is_admin:True'), { kind: 'field', path: ['is_admin'], match: 'True' });
  t.deepEqual(parseRule("project_id:'p-1'"), { kind: 'field', path: ['project_id'], match: 'p-1' });
  t.deepEqual(parseRule('user.domain:%(domain)s'), { kind: 'field', path: ['user', 'domain'], match: '%(domain)s' });
  t.deepEqual(parseRule("'Member':%(role.name)s"), { kind: 'literal', value: 'Member', match: '%(role.name)s' });
  t.deepEqual(parseRule('True:%(enabled)s'), { kind: 'literal', value: 'True', match: '%(enabled)s' });
  t.deepEqual(parseRule('role:compute:admin'), role('compute:admin'));
});

test('malformed rules throw with what is wrong', (t) => {
  const bad: Array<[string, RegExp]> = [
    ['role:a or', /unexpected end of rule/],
    ['role:a or or role:b', /unexpected "or"/],
    ['(role:a', /expected "\)" but found end of rule/],
    ['role:a)', /unexpected "\)"/],
    ['role:a role:b', /unexpected "role:b"/],
    ['admin', /"admin" is not a check/],
    ["'quoted'", /bare string/],
    ['rule:', /no rule name/],
    ['project_id:%(tenant)', /lone "%"/],
    ['http://example.com', /http checks are not supported/],
    ['a..b:x', /empty field name/],
  ];
  for (const [text, message] of bad) t.throws(() => parseRule(text), { instanceOf: PolicySyntaxError, message }, text);
});

test('referencedRules lists rule: names anywhere in the tree', (t) => {
  t.deepEqual(referencedRules(parseRule('rule:a or (role:x and not rule:b)')), ['a', 'b']);
  t.deepEqual(referencedRules(parseRule('role:x')), []);
});

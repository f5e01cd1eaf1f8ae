import test from 'ava';
import { InvalidValueError } from './capabilities.js';
import { checkHost, checkNewUsers, type UserRules } from './users-check.js';

/** Rules that refuse the names in `bad` and record what they were asked. */
function rules(bad: string[]): UserRules & { asked: string[] } {
  const asked: string[] = [];
  const check = (kind: string) => (v: string | undefined) => {
    asked.push(`${kind}:${v}`);
    if (v !== undefined && bad.includes(v)) throw new InvalidValueError(`${kind} '${v}' refused`);
  };
  return { asked, checkUserName: check('user'), checkPassword: check('password'), checkDatabaseName: check('database') };
}

test('every user, its host, password and databases are checked, in order', (t) => {
  const r = rules([]);
  checkNewUsers(
    [
      { name: 'a', host: '%', password: 'pw-a', databases: ['shop', 'logs'] },
      { name: 'b', host: '10.0.0.0/255.0.0.0', databases: [] },
    ],
    r,
  );
  t.deepEqual(r.asked, ['user:a', 'password:pw-a', 'database:shop', 'database:logs', 'user:b', 'password:undefined']);
});

test('the first bad entry stops the check with its error: a later user is not reached', (t) => {
  const r = rules(['bad_db']);
  t.throws(
    () =>
      checkNewUsers(
        [
          { name: 'a', host: '%', databases: ['bad_db'] },
          { name: 'b', host: '%', databases: [] },
        ],
        r,
      ),
    { instanceOf: InvalidValueError, message: "database 'bad_db' refused" },
  );
  t.false(r.asked.includes('user:b'));
});

test("a host that is not a name, address, netmask or pattern is refused before the user's password is looked at", (t) => {
  const r = rules([]);
  t.throws(() => checkNewUsers([{ name: 'a', host: "%' OR 1=1", password: 'x', databases: [] }], r), {
    instanceOf: InvalidValueError,
    message: `Host '%' OR 1=1' is not a valid host.`,
  });
  t.deepEqual(r.asked, ['user:a']);
  for (const ok of ['%', 'localhost', '192.168.0.%', '10.0.0.0/255.0.0.0', 'fe80::1', 'db_host-1.example.org']) t.notThrows(() => checkHost(ok));
  for (const bad of ['', 'a b', 'a;b', "a'", 'x'.repeat(256)]) t.throws(() => checkHost(bad), { instanceOf: InvalidValueError });
});

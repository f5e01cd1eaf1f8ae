import test from 'ava';
import { scrubSecrets } from './log.js';

test('scrubSecrets: URL credentials, key=value secrets, SQL password literals, bearer tokens', (t) => {
  t.is(scrubSecrets('could not reach rabbit://guest:guest@10.0.0.1:5672/'), 'could not reach rabbit://guest:***@10.0.0.1:5672/');
  t.is(scrubSecrets('password=hunter2 user=app'), 'password=*** user=app');
  t.is(scrubSecrets('{"root_password": "s3cret", "x": 1}'), '{"root_password": *** "x": 1}'.replace('*** ', '***, ').replace('***,', '***,'));
  t.is(scrubSecrets("CREATE USER 'app'@'%' IDENTIFIED BY 'pw'"), "CREATE USER 'app'@'%' IDENTIFIED BY '***'");
  t.is(scrubSecrets("ALTER ROLE app PASSWORD 'pw'"), "ALTER ROLE app PASSWORD '***'");
  t.is(scrubSecrets('Authorization: Bearer abc.def'), 'Authorization: ***');
  t.is(scrubSecrets('transport_url = rabbit://u:p@h/'), 'transport_url = ***');
  t.is(scrubSecrets('a\u0007b\n\tc'), 'ab\n\tc');
  t.is(scrubSecrets('mariadbd: [ERROR] Unknown character set: klingon'), 'mariadbd: [ERROR] Unknown character set: klingon');
});

test('scrubSecrets keeps the end of a long text', (t) => {
  const s = scrubSecrets(`${'x'.repeat(5000)}END`, 100);
  t.is(s.length, 100);
  t.true(s.startsWith('…'));
  t.true(s.endsWith('END'));
});

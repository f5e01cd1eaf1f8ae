import test from 'ava';
import { BadRequestError } from '../../../common/errors.js';
import { checkDatabaseName, checkHost, checkUserName, parseUserId } from './guest-access.js';

const names = { ignore_users: ['os_admin', 'root'], ignore_dbs: ['mysql'] };

test('a user id is name or name@host (the last @ splits; host defaults to %)', (t) => {
  t.deepEqual(parseUserId('app'), { name: 'app', host: '%' });
  t.deepEqual(parseUserId('app@10.0.0.%'), { name: 'app', host: '10.0.0.%' });
  t.deepEqual(parseUserId('app@'), { name: 'app', host: '%' });
});

test('reserved and malformed names are refused before any guest sees them', (t) => {
  t.throws(() => checkDatabaseName('MySQL', names), { instanceOf: BadRequestError, message: /reserved/ });
  t.throws(() => checkDatabaseName('a.b', names), { instanceOf: BadRequestError });
  t.throws(() => checkDatabaseName(' lead', names), { instanceOf: BadRequestError });
  t.throws(() => checkUserName('Root', names), { instanceOf: BadRequestError, message: /reserved/ });
  t.throws(() => checkUserName("x'y", names), { instanceOf: BadRequestError });
  t.throws(() => checkHost("%' OR 1=1"), { instanceOf: BadRequestError });
  t.notThrows(() => checkDatabaseName('shop_2024-eu', names));
  t.notThrows(() => checkUserName('app.reader', names));
  t.notThrows(() => checkHost('192.168.0.0/255.255.255.0'));
});

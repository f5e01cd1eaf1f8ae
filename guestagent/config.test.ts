// etc/trove-guestagent.conf.sample documents every key the guest agent reads.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseIni } from '../src/common/config/reader.js';
import { guestDefaults } from './config.js';
import { messagingDefaults, rabbitSection } from '../src/rpc/config.js';
import { backupDefaults } from './backup/config.js';
import { guestLogDefaults } from './guest-log/config.js';
import { postgresqlSection } from './engines/postgresql/config.js';
import { redisSection } from './engines/redis/config.js';
import { mariadbSection } from './engines/mariadb/config.js';
import { mysqlSection } from './engines/mysql/config.js';

test('every guest config key is in etc/trove-guestagent.conf.sample', (t) => {
  const text = readFileSync(new URL('../etc/trove-guestagent.conf.sample', import.meta.url), 'utf8');
  const conf = parseIni(text.replace(/^#(\w+\s*=)/gm, '$1'), 'sample');
  const sections: Array<[string, { shape: Record<string, unknown> }]> = [
    ['DEFAULT', guestDefaults],
    ['DEFAULT', messagingDefaults],
    ['DEFAULT', backupDefaults],
    ['DEFAULT', guestLogDefaults],
    ['oslo_messaging_rabbit', rabbitSection],
    ['mariadb', mariadbSection],
    ['mysql', mysqlSection],
    ['postgresql', postgresqlSection],
    ['redis', redisSection],
  ];
  for (const [name, schema] of sections) {
    for (const key of Object.keys(schema.shape)) t.true(key in (conf[name] ?? {}), `[${name}] ${key}`);
  }
});

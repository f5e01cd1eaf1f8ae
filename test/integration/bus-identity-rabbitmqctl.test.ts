// The rabbitmqctl fallback of the guests' RabbitMQ users (issue 12, item 2): with the management
// API unreachable (its URL on a closed port), BusAccounts makes the same user, permissions and
// topic permissions through this machine's rabbitmqctl (the password on its stdin, never in its
// argv), the user connects and consumes only its own queue, and its removal takes it away. An
// API that answers (401) is not gone around. Every user made here is deleted even on failure.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { capturingLog, quietLog } from '../helpers/transport.contract.js';
import { createVhost, listQueues } from '../helpers/rabbit.js';
import { freeTcpPort } from '../helpers/ports.js';
import { AmqpTransport } from '../../src/rpc/transports/amqp.js';
import { amqpUrls } from '../../src/rpc/config.js';
import { busAccountsFromConfig, guestTransportUrl } from '../../src/clients/rabbitmq/guest-accounts.js';
import { guestPermissions } from '../../src/clients/rabbitmq/management.js';
import { guestBusUser } from '../../src/clients/bus-accounts.js';

const ctl = (...args: string[]) =>
  execFileSync('rabbitmqctl', ['-q', '--timeout', '60', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000 }).toString();
const ctlJson = <T>(...args: string[]) => JSON.parse(ctl(...args, '--formatter', 'json')) as T;
const users = () => ctlJson<Array<{ user: string; tags: string[] }>>('list_users');
const transport = (url: string, repliesViaExchange = false) =>
  new AmqpTransport({
    urls: amqpUrls(url),
    exchange: 'trove',
    log: quietLog,
    heartbeatSeconds: 5,
    retryIntervalMs: 100,
    retryBackoffMs: 100,
    retryMaxMs: 300,
    connectTimeoutMs: 30_000,
    repliesViaExchange,
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every guest user a test makes goes, whatever happens. */
function cleanup(t: import('ava').ExecutionContext, ids: string[], more: Array<() => Promise<unknown> | void> = []) {
  t.teardown(async () => {
    for (const m of more.reverse()) await Promise.resolve(m()).catch(() => undefined);
    for (const id of ids) {
      try {
        ctl('delete_user', guestBusUser(id));
      } catch {
        /* not made, or removed by the test */
      }
    }
  });
}

test.serial('management API unreachable: rabbitmqctl makes the guest user, its permissions work, and removal takes it away', async (t) => {
  t.timeout(300_000); // a dozen rabbitmqctl runs, each an Erlang VM start (seconds on a loaded machine)
  const vhost = createVhost();
  const [a, b] = [randomUUID(), randomUUID()];
  const dir = mkdtempSync(path.join(tmpdir(), 'ctl-'));
  const closers: Array<() => Promise<unknown> | void> = [() => vhost.drop(), () => rmSync(dir, { recursive: true, force: true })];
  cleanup(t, [a, b], closers);
  // rabbitmqctl behind a wrapper that records each argv (to show the password is never in one)
  const argvLog = path.join(dir, 'argv.log');
  const wrapper = path.join(dir, 'rabbitmqctl');
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec rabbitmqctl "$@"\n`);
  chmodSync(wrapper, 0o700);
  const closedPort = await freeTcpPort();
  const log = capturingLog();
  const raw = { rabbit_management: { url: `http://127.0.0.1:${closedPort}/`, rabbitmqctl: wrapper } };
  const bus = busAccountsFromConfig(raw, vhost.url, 'trove', log.log)!;

  const password = randomBytes(24).toString('base64url');
  await bus.accounts.ensureGuest(a, password);
  t.regex(log.text(), /RabbitMQ management API unreachable: using the local rabbitmqctl/);
  t.regex(log.text(), new RegExp(`127\\.0\\.0\\.1:${closedPort} unreachable \\(ECONNREFUSED\\)`));

  const user = guestBusUser(a);
  t.deepEqual(
    users().find((u) => u.user === user),
    { user, tags: [] },
  );
  const p = guestPermissions(a, 'trove');
  t.deepEqual(ctlJson('list_user_permissions', user), [{ vhost: vhost.name, configure: p.configure, write: p.write, read: p.read }]);
  t.deepEqual(ctlJson('list_user_topic_permissions', user), [{ vhost: vhost.name, exchange: 'trove', write: p.topic.write, read: p.topic.read }]);
  const argv = readFileSync(argvLog, 'utf8');
  t.regex(argv, new RegExp(`^-q add_user ${user}$`, 'm'));
  t.false(argv.includes(password), 'the password was in an argv');

  // a real connection as that user: its own queue yes, another guest's no
  const service = transport(vhost.url);
  closers.push(() => service.close());
  for (const q of [`guestagent.${a}`, `guestagent.${b}`, 'trove-conductor']) await service.declare(q, [q], { durable: true });
  const guest = transport(guestTransportUrl(bus.target, a, password), true);
  closers.push(() => guest.close());
  const got: Buffer[] = [];
  await guest.consume(`guestagent.${a}`, async (m) => void got.push(m));
  await service.publish(`guestagent.${a}`, Buffer.from('{"for":"a"}'), true);
  for (let i = 0; i < 50 && got.length === 0; i++) await sleep(100);
  t.is(got.map(String).join(), '{"for":"a"}');
  await guest.publish('trove-conductor', Buffer.from('{}'), true);
  const other = transport(guestTransportUrl(bus.target, a, password), true);
  closers.push(() => other.close());
  await other.declare(`guestagent.${a}`, [`guestagent.${a}`], { durable: true, once: true }); // connected first, as an agent is
  await t.throwsAsync(
    other.consume(`guestagent.${b}`, async () => undefined),
    { message: /ACCESS_REFUSED|403/ },
  );
  // a resumed provision: the same user, a new password
  const password2 = randomBytes(24).toString('base64url');
  await bus.accounts.ensureGuest(a, password2);
  t.regex(readFileSync(argvLog, 'utf8'), new RegExp(`^-q change_password ${user}$`, 'm'));
  t.false(readFileSync(argvLog, 'utf8').includes(password2));

  await bus.accounts.removeGuest(a);
  t.false(
    users().some((u) => u.user === user),
    'the user is gone',
  );
  t.false(
    listQueues(vhost.name).some((q) => q.name === `guestagent.${a}`),
    'its queue is gone',
  );
  t.true(
    listQueues(vhost.name).some((q) => q.name === `guestagent.${b}`),
    "another guest's queue stays",
  );
  for (let i = 0; i < 50 && guest.state === 'connected'; i++) await sleep(100);
  t.not(guest.state, 'connected', 'its connection was closed');
  await bus.accounts.removeGuest(a); // gone already is fine
  t.false(log.text().includes(password) || log.text().includes(password2), 'a password in the log');
});

test.serial('a management API that answers (401) is not gone around: no user is made', async (t) => {
  const vhost = createVhost();
  const id = randomUUID();
  cleanup(t, [id], [() => vhost.drop()]);
  const raw = { rabbit_management: { url: 'http://127.0.0.1:15672/', username: 'guest', password: 'not-the-password' } };
  const bus = busAccountsFromConfig(raw, vhost.url, 'trove', quietLog)!;
  await t.throwsAsync(bus.accounts.ensureGuest(id, 'pw-never-used'), { message: /answered 401/ });
  t.false(users().some((u) => u.user === guestBusUser(id)));
});

test.serial('no fallback configured (rabbitmqctl = ""): the unreachable API is the error', async (t) => {
  const vhost = createVhost();
  const id = randomUUID();
  cleanup(t, [id], [() => vhost.drop()]);
  const raw = { rabbit_management: { url: `http://127.0.0.1:${await freeTcpPort()}/`, rabbitmqctl: '' } };
  const bus = busAccountsFromConfig(raw, vhost.url, 'trove', quietLog)!;
  await t.throwsAsync(bus.accounts.ensureGuest(id, 'pw-never-used'), { message: /unreachable \(ECONNREFUSED\)/ });
  t.false(users().some((u) => u.user === guestBusUser(id)));
});

// Issue 12 item 7: a cast to the taskmanager is acknowledged only once its flow is recorded. The
// control database (a throwaway MariaDB database) is reached through a TCP proxy that the test
// cuts while create_instance is cast on the real RabbitMQ: the cast is put back on its queue (not
// acknowledged and lost, leaving the instance in BUILD for ever) and recorded once the database
// is back. A cast that fails for another reason is not put back (no poison loop).
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { createThrowawayDb } from '../helpers/throwaway-db.js';
import { createVhost, listQueues } from '../helpers/rabbit.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { capturingLog } from '../helpers/transport.contract.js';
import { testSetting } from '../helpers/settings.js';
import { parseConnectionUrl, type MysqlTarget } from '../../src/db/config.js';
import { openDatabase } from '../../src/db/connection.js';
import { amqpUrls } from '../../src/rpc/config.js';
import { AmqpTransport } from '../../src/rpc/transports/amqp.js';
import { RpcClient } from '../../src/rpc/rpc.js';
import { RpcServer } from '../../src/rpc/server.js';
import { TASKMANAGER_TOPIC, taskmanagerContract } from '../../src/rpc/contracts/taskmanager.js';
import { databaseUnavailable } from '../../src/db/connection.js';
import { SecretBox } from '../../src/common/secret-box.js';
import { Tasks } from '../../src/common/instance-tasks.js';
import { FlowRunner } from '../../src/taskmanager/flow.js';
import { taskmanagerDefaults } from '../../src/taskmanager/config.js';
import { taskmanagerHandlers } from '../../src/taskmanager/manager.js';
import type { TaskContext } from '../../src/taskmanager/context.js';

test('a create_instance cast while the database is cut is put back and recorded once it is back', async (t) => {
  const tdb = await createThrowawayDb();
  const vhost = createVhost();
  const target = parseConnectionUrl(testSetting('TROVE_TEST_MYSQL_URL', 'mysql+pymysql://root:@127.0.0.1:3306/mysql')) as MysqlTarget;
  const proxy = await startTcpProxy({ host: target.host, port: target.port });
  const db = openDatabase({ connection: { ...target, socketPath: undefined, host: '127.0.0.1', port: proxy.port, database: tdb.name }, max_pool_size: 2 });
  const { log, text } = capturingLog();
  const trS = new AmqpTransport({ urls: amqpUrls(vhost.url), exchange: 'trove', log, retryIntervalMs: 100, redeliveryDelayMs: 300 });
  const trC = new AmqpTransport({ urls: amqpUrls(vhost.url), exchange: 'trove', log, retryIntervalMs: 100 });
  const runner = new FlowRunner({ db, log, owner: 'tm-redelivery' });
  const server = new RpcServer(trS, log);
  const client = new RpcClient(trC, log);
  t.teardown(async () => {
    await server.close();
    await client.close();
    await trS.close();
    await trC.close();
    await proxy.restore().catch(() => undefined);
    await runner.idle();
    await db.destroy();
    await proxy.close();
    vhost.drop();
    await tdb.drop();
  });
  const ctx = { db, log, config: taskmanagerDefaults.parse({ compute_driver: 'local' }), secrets: new SecretBox('k'), runner } as unknown as TaskContext;
  // the serving side of trove-taskmanager (src/taskmanager/service.ts): the real handlers, no flows
  // registered (a recorded flow is what this test looks for; nothing runs it)
  await server.serve(TASKMANAGER_TOPIC, taskmanagerContract, taskmanagerHandlers(ctx), { redeliverWhen: databaseUnavailable });

  const ds = randomUUID();
  const version = randomUUID();
  await tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: version });
  await tdb.db('datastore_versions').insert({ id: version, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', active: true });
  const id = randomUUID();
  await tdb.db('instances').insert({
    id,
    name: 'db',
    tenant_id: 'p',
    flavor_id: 'f',
    volume_size: 1,
    task_id: Tasks.BUILDING.code,
    task_description: 'x',
    datastore_version_id: version,
    deleted: false,
    created: new Date(),
    updated: new Date(),
  });

  const tm = client.stub(taskmanagerContract, TASKMANAGER_TOPIC);
  const create = (instance_id: string) =>
    tm.create_instance({
      instance_id,
      name: 'db',
      flavor_id: 'f',
      image_id: null,
      image_tags: [],
      databases: [],
      users: [{ name: 'u', password: 'Redeliver-pw-7', host: '%', databases: [] }],
      datastore_manager: 'mariadb',
      packages: [],
      volume_size: 1,
      volume_type: null,
      availability_zone: null,
      root_password: null,
      nics: [],
      configuration_id: null,
      locality: null,
      access: { is_public: false, allowed_cidrs: [] },
      ds_version: '10.11',
      backup_id: null,
    });

  await proxy.cut();
  await create(id);
  // the handler fails on the cut database at least twice (each try put back after 300 ms)
  for (const until = Date.now() + 15_000; (text().match(/put back on its queue/g) ?? []).length < 2;) {
    if (Date.now() > until) t.fail(`the cast was not retried:\n${text().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  t.is((await tdb.db('instances').where({ id }).first('flow_state')).flow_state, null, 'nothing recorded while the database is cut');
  await proxy.restore();
  let flow: string | null = null;
  for (const until = Date.now() + 20_000; !flow && Date.now() < until;) {
    flow = (await tdb.db('instances').where({ id }).first('flow_state')).flow_state;
    if (!flow) await new Promise((r) => setTimeout(r, 200));
  }
  t.truthy(flow, 'the flow was recorded once the database was back (the cast was not lost)');
  t.is(JSON.parse(flow!).flow, 'provision');
  t.false(text().includes('Redeliver-pw-7'), 'no password in a log line');

  // a cast that fails for another reason (the instance is not in the database) is acknowledged
  // once and dropped, never put back for ever
  const before = (text().match(/put back on its queue/g) ?? []).length;
  await create(randomUUID());
  for (const until = Date.now() + 10_000; !text().includes('is not in the database');) {
    if (Date.now() > until) t.fail('the cast for a missing instance was not handled');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 800));
  t.is((text().match(/put back on its queue/g) ?? []).length, before);
  const q = listQueues(vhost.name).find((x) => x.name === TASKMANAGER_TOPIC);
  t.is(q?.messages, 0, 'nothing left on the taskmanager queue');
});

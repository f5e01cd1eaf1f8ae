// Configuration groups on real parts: rules loaded by trove-manage, groups through trove-api, the
// taskmanager and a guest agent on a real mariadbd. Attach → dynamic values live, static ones
// RESTART_REQUIRED until a restart; PATCH merges, PUT replaces, delete while attached is refused,
// detach; an instance created with a group starts with its values.
import test from 'ava';
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startControlPlane, waitForInstance, type ControlPlane } from '../helpers/control-plane.js';
import { runBin } from '../helpers/run-bin.js';

let cp: ControlPlane;
const V = randomUUID();
const V_OLD = randomUUID();
const PASSWORD = 'Cfg-Secret-pw-77';

test.before(async () => {
  cp = await startControlPlane({ config: { DEFAULT: { default_datastore: 'mariadb' } } });
  const ds = randomUUID();
  await cp.tdb.db('datastores').insert({ id: ds, name: 'mariadb', default_version_id: V });
  await cp.tdb.db('datastore_versions').insert([
    { id: V, datastore_id: ds, name: '10.11', version: '10.11', manager: 'mariadb', image_id: 'local', packages: '', active: true },
    { id: V_OLD, datastore_id: ds, name: '10.6', version: '10.6', manager: 'mariadb', image_id: 'local', packages: '', active: true },
  ]);
  const r = await runBin('trove-manage', [
    '--config-file',
    cp.confFile,
    'db_load_datastore_config_parameters',
    'mariadb',
    '10.11',
    'etc/datastores/mariadb/validation-rules.json',
  ]);
  if (r.code !== 0) throw new Error(r.stderr);
});

test.after.always(async () => {
  await cp?.stop();
});

const ready = (i: Record<string, unknown> | undefined) => (i?.status === 'ACTIVE' && i?.operating_status === 'HEALTHY') || i?.status === 'ERROR';

async function globals(ip: string, names: string[]): Promise<Record<string, string>> {
  const c = await mysql.createConnection({ host: ip, user: 'app', password: PASSWORD });
  try {
    const [rows] = await c.query('SHOW GLOBAL VARIABLES WHERE Variable_name IN (?)', [names]);
    return Object.fromEntries((rows as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, r.Value]));
  } finally {
    await c.end();
  }
}

async function createInstance(name: string, configuration?: string) {
  const r = await cp.http.post('/instances', {
    instance: {
      name,
      flavorRef: '1',
      volume: { size: 1 },
      datastore: { type: 'mariadb', version: '10.11' },
      users: [{ name: 'app', password: PASSWORD }],
      ...(configuration ? { configuration } : {}),
    },
  });
  if (r.status !== 200) throw new Error(JSON.stringify(r.data));
  return r.data.instance.id as string;
}

test.serial('bad groups are refused with Trove bodies; list pages; unknown → 404', async (t) => {
  const post = (values: unknown, datastore: Record<string, string> = { type: 'mariadb', version: '10.11' }) =>
    cp.http.post('/configurations', { configuration: { name: 'bad', values, datastore } });
  const cases: Array<[unknown, string]> = [
    [{ no_such_option: 1 }, 'The configuration parameter no_such_option is not supported for this datastore: mariadb 10.11.'],
    [{ max_connections: 'many' }, 'The value provided for the configuration parameter max_connections is not of type integer.'],
    [{ max_connections: 0 }, 'The value for the configuration parameter max_connections is less than the minimum allowed: 1'],
    [{ wait_timeout: 99999999999 }, 'The value for the configuration parameter wait_timeout is greater than the maximum allowed: 31536000'],
    [{ performance_schema: 'yes' }, 'The value provided for the configuration parameter performance_schema is not of type boolean.'],
  ];
  for (const [values, message] of cases) {
    const r = await post(values);
    t.is(r.status, 422, JSON.stringify(values));
    t.deepEqual(r.data, { unprocessableEntity: { code: 422, message } });
  }
  const noRules = await post({ max_connections: 10 }, { type: 'mariadb', version: '10.6' });
  t.is(noRules.status, 422);
  t.is(noRules.data.unprocessableEntity.message, 'Configuration groups are not supported for this datastore: mariadb 10.6');
  const noName = await cp.http.post('/configurations', { configuration: { values: {} } });
  t.is(noName.status, 400);
  t.is(noName.data.badRequest.message, "Validation error: configuration 'name' is a required property");
  const badDs = await post({}, { type: 'mariadb', version: '9.9' });
  t.is(badDs.status, 400);

  const ids: string[] = [];
  for (const n of ['p1', 'p2', 'p3']) {
    const r = await cp.http.post('/configurations', { configuration: { name: n, values: { wait_timeout: 100 } } });
    t.is(r.status, 200, JSON.stringify(r.data));
    t.is(r.data.configuration.datastore_name, 'mariadb', 'the default datastore and its default version');
    t.is(r.data.configuration.datastore_version_name, '10.11');
    t.deepEqual(r.data.configuration.values, { wait_timeout: 100 });
    t.is(r.data.configuration.instance_count, 0);
    ids.push(r.data.configuration.id);
  }
  const page1 = await cp.http.get('/configurations?limit=2');
  t.is(page1.status, 200);
  t.is(page1.data.configurations.length, 2);
  t.deepEqual(Object.keys(page1.data.configurations[0]).sort(), [
    'created',
    'datastore_name',
    'datastore_version_id',
    'datastore_version_name',
    'datastore_version_number',
    'description',
    'id',
    'name',
    'updated',
  ]);
  const next = new URL(page1.data.links[0].href);
  t.is(next.searchParams.get('marker'), page1.data.configurations[1].id);
  t.is(next.searchParams.get('limit'), '2');
  const page2 = await cp.http.get(`/configurations?limit=2&marker=${next.searchParams.get('marker')}`);
  t.is(page2.data.configurations.length, 1);
  t.is(page2.data.links, undefined);
  const names = [...page1.data.configurations, ...page2.data.configurations].map((c: { name: string }) => c.name).sort();
  t.deepEqual(names, ['p1', 'p2', 'p3'], 'the pages cover every group once');
  for (const id of ids) t.is((await cp.http.delete(`/configurations/${id}`)).status, 202);
  const gone = await cp.http.get(`/configurations/${ids[0]}`);
  t.is(gone.status, 404);
  t.deepEqual(gone.data, { itemNotFound: { code: 404, message: `Configuration group with ID ${ids[0]} could not be found.` } });
});

test.serial('attach → live + RESTART_REQUIRED → restart → PATCH/PUT → detach; create with a group', async (t) => {
  const group = await cp.http.post('/configurations', {
    configuration: {
      name: 'tuned',
      description: 'more connections',
      values: { max_connections: 321, wait_timeout: 777, innodb_open_files: 555 },
      datastore: { type: 'mariadb', version: '10.11' },
    },
  });
  t.is(group.status, 200, JSON.stringify(group.data));
  const gid = group.data.configuration.id as string;
  const boot = await cp.http.post('/configurations', { configuration: { name: 'boot', values: { max_connections: 123, innodb_open_files: 444 } } });
  const bootId = boot.data.configuration.id as string;
  const old = await cp.http.post('/configurations', { configuration: { name: 'old', values: {}, datastore: { type: 'mariadb', version: '10.6' } } });
  t.is(old.status, 200, 'a group without values needs no rules');

  // an instance created with a group, and a plain one
  const id2 = await createInstance('cfg2', bootId);
  const active2 = await waitForInstance(cp.http, id2, ready);
  t.is(active2?.status, 'ACTIVE', 'the values were in my.cnf from the first start: no restart needed');
  const id = await createInstance('cfg1');
  const active = await waitForInstance(cp.http, id, ready);
  t.is(active?.status, 'ACTIVE', JSON.stringify(active));
  const ip = (active!.ip as string[])[0]!;
  t.deepEqual(await globals((active2!.ip as string[])[0]!, ['max_connections', 'innodb_open_files']), { innodb_open_files: '444', max_connections: '123' });
  t.is((active2!.configuration as { name: string }).name, 'boot');

  // attach: dynamic values live at once, the static one waits for a restart
  // applied when the call answers (Trove's users read the variable at once): no waiting here
  const attach = await cp.http.put(`/instances/${id}`, { instance: { configuration: gid } });
  t.is(attach.status, 202, JSON.stringify(attach.data));
  const attachedLive = await globals(ip, ['max_connections', 'wait_timeout']);
  t.deepEqual(attachedLive, { max_connections: '321', wait_timeout: '777' });
  const pending = (await cp.http.get(`/instances/${id}`)).data.instance;
  t.is(pending?.status, 'RESTART_REQUIRED', JSON.stringify(pending));
  t.deepEqual(pending?.configuration, {
    id: gid,
    name: 'tuned',
    links: [
      { href: `https://${new URL(cp.api.url).host}/v1.0/p-local/configurations/${gid}`, rel: 'self' },
      { href: `https://${new URL(cp.api.url).host}/configurations/${gid}`, rel: 'bookmark' },
    ],
  });
  const live = await globals(ip, ['max_connections', 'wait_timeout', 'innodb_open_files']);
  t.is(live.max_connections, '321');
  t.is(live.wait_timeout, '777');
  t.not(live.innodb_open_files, '555');

  const shown = await cp.http.get(`/configurations/${gid}`);
  t.is(shown.data.configuration.instance_count, 1);
  t.deepEqual(shown.data.configuration.values, { innodb_open_files: 555, max_connections: 321, wait_timeout: 777 });
  t.is(shown.data.configuration.description, 'more connections');
  t.deepEqual((await cp.http.get(`/configurations/${gid}/instances`)).data, { instances: [{ id, name: 'cfg1' }] });
  const effective = await cp.http.get(`/instances/${id}/configuration`);
  t.is(effective.status, 200);
  t.is(effective.data.instance.configuration.max_connections, 321);

  const again = await cp.http.put(`/instances/${id}`, { instance: { configuration: bootId } });
  t.is(again.status, 422);
  t.regex(again.data.unprocessableEntity.message, /already has a Configuration Group attached/);
  const del = await cp.http.delete(`/configurations/${gid}`);
  t.is(del.status, 400);
  t.regex(del.data.badRequest.message, /cannot be deleted if it is associated with one or more non-terminated instances/);

  // restart: the static value in effect, the task cleared
  t.is((await cp.http.post(`/instances/${id}/action`, { restart: {} })).status, 202);
  const restarted = await waitForInstance(cp.http, id, ready, 120_000);
  t.is(restarted?.status, 'ACTIVE');
  t.deepEqual(await globals(ip, ['max_connections', 'innodb_open_files']), { innodb_open_files: '555', max_connections: '321' });

  // PATCH merges a dynamic value: live, and no restart needed
  const patch = await cp.http.patch(`/configurations/${gid}`, { configuration: { values: { wait_timeout: 888 } } });
  t.is(patch.status, 200);
  t.is(patch.data, '');
  t.is((await globals(ip, ['wait_timeout'])).wait_timeout, '888', 'live when PATCH answers');
  const afterPatch = (await cp.http.get(`/instances/${id}`)).data.instance;
  t.is(afterPatch?.status, 'ACTIVE', 'a changed dynamic value needs no restart');
  t.deepEqual((await cp.http.get(`/configurations/${gid}`)).data.configuration.values, { innodb_open_files: 555, max_connections: 321, wait_timeout: 888 });
  const badPatch = await cp.http.patch(`/configurations/${gid}`, { configuration: { values: { max_connections: -5 } } });
  t.is(badPatch.status, 422);

  // PUT replaces: dropped values leave the engine only at a restart
  const put = await cp.http.put(`/configurations/${gid}`, { configuration: { values: { max_connections: 400 }, name: 'tuned2' } });
  t.is(put.status, 202);
  const replaced = (await cp.http.get(`/instances/${id}`)).data.instance;
  t.is(replaced?.status, 'RESTART_REQUIRED');
  t.is((await globals(ip, ['max_connections'])).max_connections, '400');
  const renamed = (await cp.http.get(`/configurations/${gid}`)).data.configuration;
  t.is(renamed.name, 'tuned2');
  t.deepEqual(renamed.values, { max_connections: 400 });

  // detach: the overrides are gone after the restart
  const detach = await cp.http.put(`/instances/${id}`, { instance: { configuration: null } });
  t.is(detach.status, 202, JSON.stringify(detach.data));
  const detached = (await cp.http.get(`/instances/${id}`)).data.instance;
  t.is(detached?.status, 'RESTART_REQUIRED');
  t.is(detached?.configuration, undefined);
  t.is((await cp.http.get(`/configurations/${gid}`)).data.configuration.instance_count, 0);
  const deleted = await cp.http.delete(`/configurations/${gid}`);
  t.is(deleted.status, 202, `a group just detached can be deleted: ${JSON.stringify(deleted.data)}`);
  t.is((await cp.http.post(`/instances/${id}/action`, { restart: {} })).status, 202);
  await waitForInstance(cp.http, id, ready, 120_000);
  t.not((await globals(ip, ['max_connections'])).max_connections, '400');
  // without a group: the engine's own settings for the flavor (never an empty map)
  const defaults = (await cp.http.get(`/instances/${id}/configuration`)).data.instance.configuration;
  t.like(defaults, { max_connections: 50, innodb_buffer_pool_size: 256 * 1024 * 1024, bind_address: ip, port: 3306 });
  t.false('wait_timeout' in defaults, 'the dropped group values are gone');

  // a group of another datastore version does not fit
  const mismatch = await cp.http.put(`/instances/${id}`, { instance: { configuration: old.data.configuration.id } });
  t.is(mismatch.status, 400);
  t.regex(mismatch.data.badRequest.message, /does not match the Datastore Version on the instance/);
  const missing = await cp.http.put(`/instances/${id}`, { instance: { configuration: randomUUID() } });
  t.is(missing.status, 404);

  t.false(cp.logs.join('').includes(PASSWORD), 'the password never reached a log line');
});

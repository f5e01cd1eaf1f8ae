// The oslo.middleware healthcheck shapes: status codes, text/plain, application/json (plain and
// detailed), text/html, HEAD, Accept negotiation, and a check that does not answer in time.
import test from 'ava';
import { healthResponse, preferredType, runChecks, type HealthCheck } from './health.js';

const ok = (name: string): HealthCheck => ({ name, check: async () => `${name} answered` });
const down = (name: string, why: string): HealthCheck => ({ name, check: () => Promise.reject(new Error(why)) });

test('all available: 200, one reason a line in text/plain', async (t) => {
  const r = healthResponse(await runChecks([ok('database'), ok('bus')]), { method: 'GET', accept: undefined, detailed: false });
  t.is(r.status, 200);
  t.is(r.contentType, 'text/plain; charset=UTF-8');
  t.is(r.body, 'OK\nOK');
});

test('one unavailable: 503 naming it, the others OK', async (t) => {
  const r = healthResponse(await runChecks([ok('database'), down('bus', 'connect ECONNREFUSED 127.0.0.1:1')]), {
    method: 'GET',
    accept: '*/*',
    detailed: false,
  });
  t.is(r.status, 503);
  t.is(r.body, 'OK\nbus unavailable: connect ECONNREFUSED 127.0.0.1:1');
});

test('application/json: reasons and detailed false, indented by 4 with sorted keys', async (t) => {
  const r = healthResponse(await runChecks([down('database', 'gone'), ok('bus')]), { method: 'GET', accept: 'application/json', detailed: false });
  t.is(r.status, 503);
  t.is(r.contentType, 'application/json');
  t.is(r.body, '{\n    "detailed": false,\n    "reasons": [\n        "database unavailable: gone",\n        "OK"\n    ]\n}');
});

test('detailed JSON: each result with its class, details and reason, and the platform', async (t) => {
  const r = healthResponse(await runChecks([ok('database')]), { method: 'GET', accept: 'application/json', detailed: true });
  const body = JSON.parse(r.body) as Record<string, unknown>;
  t.is(body.detailed, true);
  t.deepEqual(body.reasons, [{ class: 'HealthcheckResult', details: 'database: database answered', reason: 'OK' }]);
  t.is(body.node_version, process.version);
  t.regex(String(body.now), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  t.truthy(body.platform);
});

test('text/html: the results table, escaped', async (t) => {
  const r = healthResponse(await runChecks([down('bus', '<refused>')]), { method: 'GET', accept: 'text/html', detailed: false });
  t.is(r.status, 503);
  t.is(r.contentType, 'text/html; charset=UTF-8');
  t.true(r.body.includes('<H2>Result of 1 checks:</H2>'));
  t.true(r.body.includes('<TD>bus unavailable: &#60;refused&#62;</TD>'));
});

test('HEAD: 204 when healthy, 503 when not, no body', async (t) => {
  t.deepEqual(healthResponse(await runChecks([ok('database')]), { method: 'HEAD', detailed: false }), {
    status: 204,
    contentType: 'text/plain; charset=UTF-8',
    body: '',
  });
  t.is(healthResponse(await runChecks([down('database', 'x')]), { method: 'HEAD', detailed: false }).status, 503);
});

test('Accept: the highest q wins, oslo order breaks ties, text/plain when nothing offered is acceptable', (t) => {
  t.is(preferredType('application/json'), 'application/json');
  t.is(preferredType('text/html;q=0.5, application/json;q=0.9'), 'application/json');
  t.is(preferredType('application/json, text/html'), 'text/html');
  t.is(preferredType('text/*'), 'text/plain');
  t.is(preferredType('image/png'), 'text/plain');
  t.is(preferredType('*/*'), 'text/plain');
});

test('a check that does not answer in time is unavailable, with what it is stuck on', async (t) => {
  const stuck: HealthCheck = { name: 'bus', check: () => new Promise(() => undefined), silent: () => 'the transport is connecting' };
  const [r] = await runChecks([stuck], 50);
  t.false(r!.available);
  t.is(r!.reason, 'bus unavailable: no answer within 0.05 s (the transport is connecting)');
});

import test from 'ava';
import { wrap } from '../envelope.js';
import { guestGrant, serviceGrant } from './socket-access.js';

const id = '7c1f0b9e-0000-4000-8000-000000000001';
const own = `guestagent.${id}`;

test('a guest grant: its own topic and fanout queues only, bound to its own keys', (t) => {
  const g = guestGrant(`trove-guest-${id}`, id);
  t.true(g.mayDeclare(own, [own], undefined));
  t.true(g.mayDeclare(own, [], undefined));
  t.true(g.mayDeclare(`${own}_fanout_0a1b`, [], `${own}_fanout`));
  t.false(g.mayDeclare(own, ['taskmanager'], undefined), 'its queue bound to the taskmanager key');
  t.false(g.mayDeclare(own, [own], 'taskmanager_fanout'), 'its queue bound to a service fanout');
  t.false(g.mayDeclare(`${own}_fanout_xyz`, [], `${own}_fanout`), 'a fanout queue name that is not hex');
  t.false(g.mayDeclare(`${own}_fanout_0a`, [], 'guestagent.other_fanout'));
  t.false(g.mayDeclare(`${own}x`, [], undefined), 'a prefix of another name');
  t.false(g.mayDeclare('reply_00ff', [], undefined), 'no calls of its own');
  t.true(g.mayConsume(own));
  t.true(g.mayConsume(`${own}_fanout_0a1b`));
  t.false(g.mayConsume('guestagent.other'));
  t.false(g.mayConsume('trove-conductor'));
  t.true(g.mayPublish('trove-conductor'));
  for (const k of ['taskmanager', own, 'guestagent.other', 'trove-conductor.host']) t.false(g.mayPublish(k), k);
  t.false(g.mayFanout(`${own}_fanout`));
  t.false(g.mayFanout('trove-conductor_fanout'));
});

test('a guest grant replies only to the reply queues of calls it was delivered', (t) => {
  const g = guestGrant(`trove-guest-${id}`, id);
  t.false(g.maySend('reply_00aa'));
  g.delivered!(wrap({ method: 'get_status', args: {}, _msg_id: 'm1', _reply_q: 'reply_00aa' }));
  g.delivered!(wrap({ method: 'cast_only', args: {} }));
  g.delivered!(wrap({ method: 'x', _reply_q: 'taskmanager' })); // not a reply queue's name
  g.delivered!(Buffer.from('not json'));
  t.true(g.maySend('reply_00aa'));
  t.false(g.maySend('taskmanager'));
  t.false(g.maySend('reply_00bb'));
  for (let i = 0; i < 300; i++) g.delivered!(wrap({ _reply_q: `reply_${i.toString(16).padStart(4, '0')}ff` }));
  t.false(g.maySend('reply_00aa'), 'the oldest are forgotten (bounded)');
  t.true(g.maySend('reply_012bff'));
});

test('a service grant may do anything', (t) => {
  const g = serviceGrant('svc');
  t.true(g.mayConsume('taskmanager') && g.mayPublish('taskmanager') && g.maySend('anything') && g.mayFanout('x') && g.mayDeclare('q', ['k'], 'f'));
});

// The guest's "cannot start" console line: written by the guest, found by the taskmanager in a
// console full of other lines, one line only, with no secret in it.
import test from 'ava';
import { cannotStartLine, cannotStartReason } from './guest-console.js';

test('the reason is found among kernel and systemd lines, the last one wins', (t) => {
  const console = [
    '[    2.100000] virtio_net virtio0 eth0: renamed',
    cannotStartLine('no config drive (a filesystem labelled config-2) appeared within 60 s'),
    '[  OK  ] Started trove-guestagent.service',
    cannotStartLine("the message bus refused the guest agent's login: 403 (ACCESS-REFUSED)"),
    '[   10.5] reboot: Power down',
  ].join('\n');
  t.is(cannotStartReason(console), "the message bus refused the guest agent's login: 403 (ACCESS-REFUSED)");
  t.is(cannotStartReason('[ OK ] Reached target Multi-User System.\n'), undefined);
});

test('one line, secrets scrubbed', (t) => {
  const line = cannotStartLine('cannot reach rabbit://trove-guest-1:hunter2-pw@10.0.2.100:5672/\npassword=hunter2-pw');
  t.is(line.split('\n').length, 2, 'a single line and its newline');
  t.false(line.includes('hunter2-pw'));
  t.regex(cannotStartReason(line)!, /^cannot reach rabbit:\/\/trove-guest-1:\*\*\*@10\.0\.2\.100:5672\/ \| password=\*\*\*$/);
});

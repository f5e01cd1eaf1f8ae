// The cloud-config a guest boots with closes the metadata service (where Nova serves user_data,
// which holds the guest's bus password and keys) to every user but root. The bootcmd lines of
// the real user_data run in a network namespace of their own with a stand-in metadata server on
// 169.254.169.254: root (the agent) still reads it, the engine's kind of user (nobody) cannot;
// run twice, the rule is there once. The guest config is written 0600 root's, byte for byte.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { GUEST_CONFIG_PATH, userData } from '../../src/clients/openstack/nova-servers.js';

const config = '[DEFAULT]\nguest_id = inst-1\ntransport_url = rabbit://trove-guest-inst-1:p@ss: "quoted" #not-a-comment@10.0.0.1:5672/\n  indented line\n\n';
const doc = parse(Buffer.from(userData(config), 'base64').toString()) as { bootcmd: string[][]; write_files: Array<Record<string, string>> };

test("the guest config is written as given, 0600 and root's", (t) => {
  t.deepEqual(doc.write_files, [{ path: GUEST_CONFIG_PATH, owner: 'root:root', permissions: '0600', content: config }]);
});

test('bootcmd: after it, only root reaches 169.254.169.254; twice adds the rule once', (t) => {
  for (const tool of ['unshare', 'iptables', 'ip', 'curl', 'python3'])
    t.is(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is needed by this test`);
  t.is(process.getuid?.(), 0, 'this test runs as root (a network namespace and iptables)');
  const boot = doc.bootcmd.map((argv) => {
    t.deepEqual(argv.slice(0, 2), ['sh', '-c']);
    return argv[2]!;
  });
  const script = [
    'set -u',
    'ip link set lo up; ip addr add 169.254.169.254/32 dev lo',
    'python3 -m http.server --bind 169.254.169.254 8775 >/dev/null 2>&1 & srv=$!',
    'trap "kill $srv 2>/dev/null" EXIT',
    'for i in $(seq 50); do curl -s -o /dev/null -m 1 http://169.254.169.254:8775/ && break; sleep 0.1; done',
    'echo "before: nobody $(su nobody -s /bin/sh -c "curl -s -m 2 -o /dev/null -w %{http_code} http://169.254.169.254:8775/")"',
    ...boot,
    ...boot,
    'echo "rules: $(iptables -S OUTPUT | grep -c 169.254.169.254)"',
    'echo "after: root $(curl -s -m 2 -o /dev/null -w %{http_code} http://169.254.169.254:8775/)"',
    'echo "after: nobody $(su nobody -s /bin/sh -c "curl -s -m 2 -o /dev/null -w %{http_code} http://169.254.169.254:8775/")"',
  ].join('\n');
  const out = execFileSync('timeout', ['60', 'unshare', '-n', 'sh', '-c', script], { encoding: 'utf8' });
  t.regex(out, /^before: nobody 200$/m, 'the stand-in metadata server answers everyone before the rule');
  t.regex(out, /^rules: 1$/m);
  t.regex(out, /^after: root 200$/m);
  t.regex(out, /^after: nobody 000$/m);
});

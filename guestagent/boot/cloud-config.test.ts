// The guest's own reading of the cloud-config it boots with: the very document the Nova and qemu
// drivers send (userData), applied to a scratch root: the guest config 0600 root's, bootcmd run.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { userData, GUEST_CONFIG_PATH } from '../../src/clients/openstack/nova-servers.js';
import { applyCloudConfig, parseCloudConfig } from './cloud-config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cloud-config-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const GUEST_CONFIG = '[DEFAULT]\nguest_id = 1b2c\ntransport_url = rabbit://trove-guest-1b2c:s3cret-pw@10.0.2.100:5672/v\n';
const fromDriver = () => Buffer.from(userData(GUEST_CONFIG), 'base64').toString('utf8');

test("the drivers' user_data: the guest config written 0600 root's with its exact text, the metadata rules as argv commands", async (t) => {
  const c = parseCloudConfig(fromDriver());
  t.deepEqual(
    c.writeFiles.map((f) => ({ path: f.path, uid: f.uid, gid: f.gid, mode: f.mode })),
    [{ path: GUEST_CONFIG_PATH, uid: 0, gid: 0, mode: 0o600 }],
  );
  t.is(c.writeFiles[0]!.content, GUEST_CONFIG);
  t.is(c.bootcmd.length, 2);
  t.true(c.bootcmd.every((cmd) => cmd[0] === 'sh' && cmd[1] === '-c' && /169\.254\.169\.254|fe80::a9fe:a9fe/.test(cmd[2]!)));

  const root = mkdtempSync(path.join(dir, 'root-'));
  const lines: string[] = [];
  await applyCloudConfig({ ...c, bootcmd: [] }, (l) => lines.push(l), root);
  const written = path.join(root, GUEST_CONFIG_PATH);
  t.is(readFileSync(written, 'utf8'), GUEST_CONFIG);
  t.is(statSync(written).mode & 0o777, 0o600);
  t.is(statSync(written).uid, 0);
  t.deepEqual(readdirSync(path.dirname(written)), ['guest_info.conf'], 'no temp file left beside it');
  t.false(lines.join('\n').includes('s3cret-pw'), 'the boot log names the file, never its content');
});

test('bootcmd: each command runs (a string through sh -c), a failing one is reported and the next still runs', async (t) => {
  const root = mkdtempSync(path.join(dir, 'cmd-'));
  const marker = path.join(root, 'ran');
  const c = parseCloudConfig(`#cloud-config\nbootcmd:\n  - [sh, -c, "exit 3"]\n  - touch ${marker}\n`);
  const lines: string[] = [];
  const r = await applyCloudConfig(c, (l) => lines.push(l), root);
  t.is(r.failedCommands, 1);
  t.regex(lines[0]!, /bootcmd sh failed \(3\)/);
  t.true(existsSync(marker));
});

test('b64 content is decoded; a file over an older one of a wider mode is replaced with the new mode', async (t) => {
  const root = mkdtempSync(path.join(dir, 'b64-'));
  const write = (mode: string, body: string) =>
    applyCloudConfig(
      parseCloudConfig(
        `#cloud-config\nwrite_files:\n  - path: /etc/x.conf\n    encoding: b64\n    permissions: '${mode}'\n    content: ${Buffer.from(body).toString('base64')}\n`,
      ),
      () => undefined,
      root,
    );
  await write('0644', 'old');
  await write('0600', 'new');
  t.is(readFileSync(path.join(root, 'etc/x.conf'), 'utf8'), 'new');
  t.is(statSync(path.join(root, 'etc/x.conf')).mode & 0o777, 0o600);
});

test('what the guest cannot honour is refused with the reason: not cloud-config, an owner other than root, a relative path, a bad mode, an encoding', (t) => {
  const refuses = (text: string, message: RegExp) => t.throws(() => parseCloudConfig(text), { message });
  refuses('#!/bin/sh\necho hi\n', /not a #cloud-config document/);
  refuses('#cloud-config\nwrite_files: [{path: /etc/a, owner: "mysql:mysql", content: x}]\n', /owner 'mysql:mysql' is not root/);
  refuses('#cloud-config\nwrite_files: [{path: etc/a, content: x}]\n', /path must be absolute/);
  refuses('#cloud-config\nwrite_files: [{path: /etc/a, permissions: "rw", content: x}]\n', /permissions 'rw' is not an octal mode/);
  refuses('#cloud-config\nwrite_files: [{path: /etc/a, encoding: gzip, content: x}]\n', /encoding 'gzip' is not supported/);
  refuses('#cloud-config\nbootcmd: [[1, 2]]\n', /bootcmd\[0\] must be a string or a list of strings/);
  refuses('#cloud-config\nbootcmd: [unclosed\n', /not valid YAML/);
});

// BusAccounts through the local rabbitmqctl, the fallback when RabbitMQ's management API cannot
// be reached (not running, plugin off) on a machine where the broker's own CLI works: the same
// users and permissions as management.ts makes. The password goes on rabbitmqctl's stdin (it
// reads it there when the argument is left out), never in its argv.
import { spawn } from 'node:child_process';
import { guestTopic } from '../../rpc/topics.js';
import { guestBusUser, type BusAccounts } from '../bus-accounts.js';
import { guestPermissions } from './management.js';

/** rabbitmqctl's exit codes for "user already exists" and "no such user". */
const ALREADY_EXISTS = 70;
const NO_SUCH_USER = 67;

export class RabbitCtlError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
  ) {
    super(message);
    this.name = 'RabbitCtlError';
  }
}

export class RabbitCtl implements BusAccounts {
  constructor(private readonly o: { command: string; node?: string; vhost: string; exchange: string }) {}

  /** Runs `rabbitmqctl -q <args>`, `stdin` written to it; its stdout. */
  run(args: string[], stdin = ''): Promise<string> {
    const argv = [...(this.o.node ? ['--node', this.o.node] : []), '-q', ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(this.o.command, argv, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.stdin.on('error', () => undefined);
      child.once('error', (e) => reject(new RabbitCtlError(`${this.o.command}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, null)));
      child.once('close', (code) => {
        if (code === 0) return resolve(out);
        const why =
          err
            .replace(/^Error:\s*/m, '')
            .trim()
            .split('\n')[0] ?? '';
        reject(new RabbitCtlError(`rabbitmqctl ${args[0]} exited ${code}${why ? `: ${why}` : ''}`, code));
      });
      child.stdin.end(stdin);
    });
  }

  async ensureGuest(instanceId: string, password: string): Promise<void> {
    const user = guestBusUser(instanceId);
    const p = guestPermissions(instanceId, this.o.exchange);
    await this.run(['add_user', user], password).catch(async (err: RabbitCtlError) => {
      if (err.code !== ALREADY_EXISTS) throw err;
      await this.run(['change_password', user], password); // a resumed provision: its new password
    });
    await this.run(['set_permissions', '-p', this.o.vhost, user, p.configure, p.write, p.read]);
    await this.run(['set_topic_permissions', '-p', this.o.vhost, user, p.topic.exchange, p.topic.write, p.topic.read]);
  }

  async removeGuest(instanceId: string): Promise<void> {
    const user = guestBusUser(instanceId);
    await this.run(['delete_user', user]).catch((err: RabbitCtlError) => {
      if (err.code !== NO_SUCH_USER) throw err;
    });
    // its connections go too (deleting a user does not close them), so nothing re-declares its queue
    await this.run(['close_all_user_connections', user, 'its instance was deleted']);
    await this.run(['delete_queue', '-p', this.o.vhost, guestTopic(instanceId)]).catch((err: RabbitCtlError) => {
      if (!/not found/i.test(err.message)) throw err;
    });
  }
}

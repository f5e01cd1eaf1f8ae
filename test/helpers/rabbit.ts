// A throwaway RabbitMQ vhost on the machine's broker (guest/guest), deleted when the test ends.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { testSetting } from './settings.js';

export interface Vhost {
  url: string;
  name: string;
  drop(): void;
}

// bounded: a rabbitmqctl that cannot reach the node would otherwise block the test file's worker
// (execFileSync) past ava's timeout, and the test would never finish
const ctl = (...args: string[]) =>
  execFileSync('rabbitmqctl', ['-q', '--timeout', '60', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000, killSignal: 'SIGKILL' });

export function createVhost(): Vhost {
  const base = testSetting('TROVE_TEST_RABBIT', 'guest:guest@127.0.0.1:5672');
  const name = `trove-test-${randomBytes(4).toString('hex')}`;
  ctl('add_vhost', name);
  ctl('set_permissions', '-p', name, base.split(':')[0]!, '.*', '.*', '.*');
  return {
    name,
    url: `rabbit://${base}/${name}`,
    drop: () => {
      try {
        ctl('delete_vhost', name);
      } catch {
        /* already gone */
      }
    },
  };
}

export function closeAllConnections(vhost: string): void {
  ctl('close_all_connections', '-p', vhost, 'test: connection dropped');
}

export interface QueueInfo {
  name: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  messages: number;
}

export function listQueues(vhost: string): QueueInfo[] {
  return JSON.parse(
    ctl('list_queues', '-p', vhost, 'name', 'durable', 'auto_delete', 'exclusive', 'messages', '--formatter', 'json').toString(),
  ) as QueueInfo[];
}

export function listExchanges(vhost: string): Array<{ name: string; type: string; durable: boolean; auto_delete: boolean }> {
  return JSON.parse(ctl('list_exchanges', '-p', vhost, 'name', 'type', 'durable', 'auto_delete', '--formatter', 'json').toString());
}

// BusAccounts on RabbitMQ through its HTTP management API (plugin rabbitmq_management): one user
// per guest, with the vhost's configure/write/read regexes and topic permissions on the control
// exchange. [rabbit_management] url/username/password default from transport_url (its first
// host, port 15672, its user). Passwords travel only in request bodies and headers, never in a log.
// An API that cannot be reached at all is ManagementUnreachable (guest-accounts.ts then uses rabbitmqctl).
import { z } from 'zod';
import type { RawConfig } from '../../common/config/reader.js';
import { configSection, opt } from '../../common/config/schema.js';
import { CONDUCTOR_TOPIC, guestTopic } from '../../rpc/topics.js';
import { guestBusUser, type BusAccounts } from '../bus-accounts.js';

export const rabbitManagementSection = z.object({
  /** Give each guest a bus user of its own (rabbit:// transport_url only). */
  guest_users: opt.bool(true),
  /** The management API, e.g. http://rabbit:15672/ ('' = transport_url's first host, port 15672). */
  url: opt.str(''),
  /** An administrator of the vhost ('' = transport_url's user and password). */
  username: opt.str(''),
  password: opt.str(''),
  /** When the management API cannot be reached at all: this machine's rabbitmqctl, run as this
   * user ('' = no fallback, the provision or delete fails instead). */
  rabbitmqctl: opt.str('rabbitmqctl'),
  /** The node rabbitmqctl manages ('' = its default, rabbit@<this host>). */
  rabbitmqctl_node: opt.str(''),
});

/** The management API could not be reached at all (refused, timed out): not an HTTP answer. */
export class ManagementUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManagementUnreachable';
  }
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What a guest may touch: its topic's queue, its fanout exchange and fanout queues; publish to
 * the control exchange only with the conductor's key and to reply exchanges (answers to calls). */
export function guestPermissions(instanceId: string, exchange: string) {
  const own = `^${esc(guestTopic(instanceId))}(_fanout(_[0-9a-f]+)?)?$`;
  return {
    configure: own,
    write: `${own}|^${esc(exchange)}$|^reply_[0-9a-f]+$`,
    read: `${own}|^${esc(exchange)}$`,
    topic: { exchange, write: `^${esc(CONDUCTOR_TOPIC)}$`, read: `^${esc(guestTopic(instanceId))}$` },
  };
}

export interface Target {
  url: string;
  username: string;
  password: string;
  vhost: string;
  hosts: string[];
  query: string;
}

/** transport_url's parts: the vhost, each host, and the management target. */
export function managementTarget(raw: RawConfig, transportUrl: string): Target {
  const m = /^rabbit:\/\/([^/?]+)(?:\/([^?]*))?(\?.*)?$/.exec(transportUrl);
  if (!m) throw new Error('transport_url is not rabbit://');
  const hosts = m[1]!.split(',').map((h) => h.slice(h.lastIndexOf('@') + 1));
  const first = m[1]!.split(',')[0]!;
  const at = first.lastIndexOf('@');
  const [user, pass] = at < 0 ? ['guest', 'guest'] : (first.slice(0, at).split(':').map(decodeURIComponent) as [string, string?]);
  const c = configSection(raw, 'rabbit_management', rabbitManagementSection);
  const hostname = hosts[0]!.replace(/:\d+$/, '');
  return {
    url: (c.url || `http://${hostname}:15672/`).replace(/\/?$/, '/'),
    username: c.username || user,
    password: c.password || (pass ?? ''),
    vhost: m[2] ? decodeURIComponent(m[2]) : '/',
    hosts,
    query: m[3] ?? '',
  };
}

/** The guest's own transport_url: its user and password at the service's brokers and vhost. */
export function guestTransportUrl(t: Target, instanceId: string, password: string): string {
  const cred = `${encodeURIComponent(guestBusUser(instanceId))}:${encodeURIComponent(password)}`;
  return `rabbit://${t.hosts.map((h) => `${cred}@${h}`).join(',')}/${encodeURIComponent(t.vhost)}${t.query}`;
}

export class RabbitManagement implements BusAccounts {
  constructor(
    private readonly t: Target,
    private readonly exchange: string,
  ) {}

  private async api(method: string, path: string, body?: unknown, okMissing = false): Promise<unknown> {
    const r = await fetch(new URL(`api/${path}`, this.t.url), {
      method,
      headers: { authorization: `Basic ${Buffer.from(`${this.t.username}:${this.t.password}`).toString('base64')}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    }).catch((err: Error) => {
      const cause = (err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.name;
      throw new ManagementUnreachable(`RabbitMQ management API at ${new URL(this.t.url).host} unreachable (${cause})`);
    });
    if (r.status === 404 && okMissing) return undefined;
    if (!r.ok) throw new Error(`RabbitMQ management API: ${method} ${path.replace(/\/.*/, '/…')} answered ${r.status}`);
    return r.status === 204 || r.headers.get('content-length') === '0' ? undefined : r.json().catch(() => undefined);
  }

  async ensureGuest(instanceId: string, password: string): Promise<void> {
    const user = encodeURIComponent(guestBusUser(instanceId));
    const vhost = encodeURIComponent(this.t.vhost);
    const p = guestPermissions(instanceId, this.exchange);
    await this.api('PUT', `users/${user}`, { password, tags: '' });
    await this.api('PUT', `permissions/${vhost}/${user}`, { configure: p.configure, write: p.write, read: p.read });
    await this.api('PUT', `topic-permissions/${vhost}/${user}`, p.topic);
  }

  async removeGuest(instanceId: string): Promise<void> {
    const name = guestBusUser(instanceId);
    const vhost = encodeURIComponent(this.t.vhost);
    await this.api('DELETE', `users/${encodeURIComponent(name)}`, undefined, true);
    // its connections go too (deleting a user does not close them), so nothing re-declares its queue
    const conns = ((await this.api('GET', `connections?columns=name,user`)) ?? []) as Array<{ name: string; user: string }>;
    for (const c of conns.filter((x) => x.user === name)) await this.api('DELETE', `connections/${encodeURIComponent(c.name)}`, undefined, true);
    await this.api('DELETE', `queues/${vhost}/${encodeURIComponent(guestTopic(instanceId))}`, undefined, true);
  }
}

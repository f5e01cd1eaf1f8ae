// The messaging keys (oslo's names) and the transport they select: [DEFAULT] transport_url,
// control_exchange, rpc_response_timeout, and the [oslo_messaging_rabbit] keys the AMQP transport
// honours. rabbit:// → AMQP; unix://[user:password@]/path → the all-in-one bus; '' → in-process.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configSection, opt } from '../common/config/schema.js';
import type { RawConfig } from '../common/config/reader.js';
import type { Logger } from '../common/log.js';
import type { Transport } from './transport.js';
import { AmqpTransport } from './transports/amqp.js';
import { type MemoryBroker, MemoryTransport } from './transports/memory.js';
import { parseSocketUrl, SocketTransport } from './transports/socket.js';

const TRANSPORT_URL = /^(rabbit:\/\/[^/?]+(\/[^?]*)?(\?.*)?|unix:\/\/([^:@/]*:[^@/]*@)?\/.+)?$/;

export const messagingDefaults = z.object({
  /** rabbit://user:pass@host:5672/vhost (several hosts: rabbit://u:p@h1:5672,u:p@h2:5672/);
   * unix://user:password@/path/bus.sock = the all-in-one bus (a guest's own user); '' = in-process. */
  transport_url: opt.str('').refine((v) => TRANSPORT_URL.test(v), 'expected rabbit://user:pass@host:5672/vhost, unix://user:pass@/path or nothing'),
  control_exchange: opt.str('trove'),
  rpc_response_timeout: opt.int(60, 1),
});

export type MessagingConfig = z.output<typeof messagingDefaults>;

/** [oslo_messaging_rabbit]: the keys of oslo's rabbit driver this transport uses (seconds). */
export const rabbitSection = z.object({
  /** A broker silent this long is dead (AMQP heartbeats every half of it); 0 = no heartbeats. */
  heartbeat_timeout_threshold: opt.int(60, 0),
  /** First reconnect delay, the step its exponential growth is made of, and its cap. */
  rabbit_retry_interval: opt.int(1, 0),
  rabbit_retry_backoff: opt.int(2, 0),
  rabbit_interval_max: opt.int(30, 1),
  /** Unacknowledged messages per consumer channel (oslo: 0 = unlimited; trove-ts: 16, so that
   * servers of one topic share a backlog). */
  rabbit_qos_prefetch_count: opt.int(16, 0),
  /** amqps:// to every broker, with this CA bundle when set. */
  ssl: opt.bool(false),
  ssl_ca_file: opt.str(''),
});

export type RabbitConfig = z.output<typeof rabbitSection>;

/** oslo's rabbit:// URL (one or several hosts) → one amqp:// (or amqps://) URL per broker for amqplib. */
export function amqpUrls(transportUrl: string, ssl = false): string[] {
  const m = /^rabbit:\/\/([^/?]+)(\/[^?]*)?(\?.*)?$/.exec(transportUrl);
  if (!m) throw new Error(`transport_url must be rabbit://user:pass@host:5672/vhost, got ${transportUrl.replace(/\/\/[^@]*@/, '//***@')}`);
  const vhost = m[2] && m[2] !== '/' ? m[2] : '/';
  return m[1]!.split(',').map((hostPart) => `${ssl ? 'amqps' : 'amqp'}://${hostPart}${vhost}`);
}

export interface TransportOptions {
  /** [oslo_messaging_rabbit]; its defaults when not given. */
  rabbit?: RabbitConfig;
  /** The in-process broker to join (transport_url = ''); a new one when not given. */
  broker?: MemoryBroker;
  /** AMQP: replies through each reply queue's own exchange (a guest agent's own bus user). */
  repliesViaExchange?: boolean;
  /** AMQP: a broker refused the login before the first connection (see AmqpOptions). */
  onLoginRefused?: (reason: string) => void;
}

export function createTransport(c: MessagingConfig, log: Logger, options: TransportOptions = {}): Transport {
  if (!c.transport_url) return new MemoryTransport(options.broker);
  if (c.transport_url.startsWith('unix://')) {
    const u = parseSocketUrl(c.transport_url);
    return new SocketTransport(u.path, log, u.credentials);
  }
  const r = options.rabbit ?? rabbitSection.parse({});
  return new AmqpTransport({
    urls: amqpUrls(c.transport_url, r.ssl),
    exchange: c.control_exchange,
    log,
    heartbeatSeconds: Math.ceil(r.heartbeat_timeout_threshold / 2),
    prefetch: r.rabbit_qos_prefetch_count,
    retryIntervalMs: r.rabbit_retry_interval * 1000,
    retryBackoffMs: r.rabbit_retry_backoff * 1000,
    retryMaxMs: r.rabbit_interval_max * 1000,
    connectTimeoutMs: c.rpc_response_timeout * 1000,
    socketOptions: r.ssl && r.ssl_ca_file ? { ca: [readFileSync(r.ssl_ca_file)] } : undefined,
    repliesViaExchange: options.repliesViaExchange,
    onLoginRefused: options.onLoginRefused,
  });
}

/** The transport a service's configuration names: [DEFAULT] transport_url with [oslo_messaging_rabbit]. */
export function transportFromConfig(raw: RawConfig, log: Logger, options: Omit<TransportOptions, 'rabbit'> = {}): Transport {
  return createTransport(configSection(raw, 'DEFAULT', messagingDefaults), log, {
    ...options,
    rabbit: configSection(raw, 'oslo_messaging_rabbit', rabbitSection),
  });
}

// The usage notifier: notify(eventType, payload, priority) through the drivers [oslo_messaging_notifications]
// names. messagingv2/messaging publish to `<topic>.<priority>` on the control exchange (the queue
// declared first, as oslo does, so nothing is lost before Ceilometer starts), log writes the
// message as a log line, noop (or no driver) sends nothing. A notification never fails or holds
// its caller: one that cannot be published (no broker within [DEFAULT] rpc_response_timeout) is
// dropped, and the failure is logged once until publishing works again.
import { hostname } from 'node:os';
import type { RawConfig } from '../common/config/reader.js';
import { configSection } from '../common/config/schema.js';
import { scrubSecrets, type Logger } from '../common/log.js';
import { createTransport, messagingDefaults, rabbitSection } from '../rpc/config.js';
import type { Transport } from '../rpc/transport.js';
import { notificationsSection, type NotificationDriverName } from './config.js';
import { osloNotification, wireBody, type NotificationContext, type OsloNotification, type Priority } from './envelope.js';

export type { NotificationContext, Priority } from './envelope.js';

export interface NotifyOptions {
  /** oslo's publisher_id; `<service>.<host>` when not given (Trove's instance events use the host alone). */
  publisherId?: string;
  context?: NotificationContext;
}

export interface Notifier {
  /** Whether any driver sends anything (callers may skip building a payload when not). */
  readonly enabled: boolean;
  /** This host's name, as in publisher ids. */
  readonly host: string;
  /** How many notifications could not be published (since the start). */
  readonly dropped: number;
  /** Sends one notification through every driver; never rejects. */
  notify(eventType: string, payload: Record<string, unknown>, priority?: Priority, options?: NotifyOptions): Promise<void>;
  close(): Promise<void>;
}

type Driver = (message: OsloNotification) => Promise<void>;

/** The AMQP codes of a declare the broker refused (the queue exists with other arguments, say): publish anyway. */
const refusedDeclare = (err: unknown): boolean => [403, 404, 406].includes((err as { code?: number }).code ?? 0);

function messagingDriver(transport: Transport, topics: string[], envelope: boolean): Driver {
  const declared = new Set<string>();
  return async (m) => {
    for (const topic of topics) {
      const key = `${topic}.${m.priority.toLowerCase()}`;
      if (!declared.has(key)) {
        await transport.declare(key, [key], { durable: false, once: true }).catch((err: unknown) => {
          if (!refusedDeclare(err)) throw err;
        });
        declared.add(key);
      }
      await transport.publish(key, wireBody(m, envelope), false);
    }
  };
}

function logDriver(log: Logger): Driver {
  // oslo's LogDriver: the whole message at its priority, under oslo.messaging.notification.<event_type>
  return async (m) => {
    const level = ({ DEBUG: 'debug', INFO: 'info', AUDIT: 'info', SAMPLE: 'info', WARN: 'warn', ERROR: 'error', CRITICAL: 'fatal' } as const)[m.priority];
    log[level]({ notification: m }, `oslo.messaging.notification.${m.event_type}`);
  };
}

export interface NotifierOptions {
  /** The service's name in publisher ids (taskmanager, api, conductor). */
  service: string;
  /** The service's own bus: used when [oslo_messaging_notifications] transport_url is empty. */
  transport?: Transport;
  host?: string;
}

/** The notifier a service's configuration asks for. */
export function notifierFromConfig(raw: RawConfig, log: Logger, o: NotifierOptions): Notifier {
  const c = configSection(raw, 'oslo_messaging_notifications', notificationsSection);
  const messaging = configSection(raw, 'DEFAULT', messagingDefaults);
  const drivers: Driver[] = [];
  let own: Transport | undefined;
  const busFor = (): Transport | undefined => {
    if (c.transport_url) {
      // a bus of its own; its reconnect warnings stay quiet: the notifier says once that it cannot publish
      own ??= createTransport({ ...messaging, transport_url: c.transport_url }, log.child({}, { level: 'error' }), {
        rabbit: configSection(raw, 'oslo_messaging_rabbit', rabbitSection),
      });
      return own;
    }
    return o.transport;
  };
  for (const name of new Set<NotificationDriverName>(c.driver)) {
    if (name === 'noop') continue;
    if (name === 'log') {
      drivers.push(logDriver(log));
      continue;
    }
    const bus = busFor();
    if (!bus) {
      log.warn(`[oslo_messaging_notifications] driver = ${name} needs a bus: no transport_url there or in [DEFAULT]; notifications are not sent`);
      continue;
    }
    drivers.push(messagingDriver(bus, c.topics, name === 'messagingv2'));
  }
  return createNotifier(drivers, log, o.service, o.host ?? hostname(), async () => {
    await own?.close();
  });
}

export function createNotifier(drivers: Driver[], log: Logger, service: string, host: string, close: () => Promise<void> = async () => undefined): Notifier {
  let failing = false;
  let dropped = 0;
  return {
    enabled: drivers.length > 0,
    host,
    get dropped() {
      return dropped;
    },
    async notify(eventType, payload, priority = 'INFO', options = {}) {
      if (!drivers.length) return;
      const message = osloNotification(eventType, payload, priority, options.publisherId ?? `${service}.${host}`, options.context);
      // every driver has its go (a bus that is down does not silence the log driver)
      const errors: unknown[] = [];
      for (const d of drivers) await d(message).catch((err: unknown) => errors.push(err));
      const err = errors[0];
      if (err) {
        dropped += 1;
        if (!failing) {
          failing = true;
          log.error(
            { event_type: eventType, err: scrubSecrets((err as Error).message) },
            'usage notifications cannot be published; they are dropped until the bus takes them again (logged once)',
          );
        }
        return;
      }
      if (failing) {
        failing = false;
        log.info('usage notifications are published again');
      }
    },
    close,
  };
}

/** A notifier that sends nothing (tests, tools). */
export const noNotifier: Notifier = createNotifier([], undefined as unknown as Logger, 'none', 'none');

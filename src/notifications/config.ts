// [oslo_messaging_notifications] as oslo.messaging reads it: driver (none = notifications off),
// topics, and a transport_url of its own (empty: the service's [DEFAULT] transport_url).
import { z } from 'zod';
import { opt } from '../common/config/schema.js';

/** messagingv2 (the 2.0 envelope, what Ceilometer reads), messaging (bare, oslo's 1.0), log, noop. */
export const NOTIFICATION_DRIVERS = ['messagingv2', 'messaging', 'log', 'noop'] as const;
export type NotificationDriverName = (typeof NOTIFICATION_DRIVERS)[number];

const TRANSPORT_URL = /^(rabbit:\/\/[^/?]+(\/[^?]*)?(\?.*)?)?$/;

export const notificationsSection = z.object({
  driver: opt
    .list([])
    .refine(
      (v) => v.every((d) => (NOTIFICATION_DRIVERS as readonly string[]).includes(d)),
      `expected some of ${NOTIFICATION_DRIVERS.join(', ')} (none = no notifications)`,
    )
    .transform((v) => v as NotificationDriverName[]),
  topics: opt.list(['notifications']).refine((v) => v.length > 0, 'expected at least one topic'),
  transport_url: opt.str('').refine((v) => TRANSPORT_URL.test(v), 'expected rabbit://user:pass@host:5672/vhost or nothing (the [DEFAULT] transport_url)'),
});

export type NotificationsConfig = z.output<typeof notificationsSection>;

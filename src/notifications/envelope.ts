// oslo.messaging's notification message as its rabbit driver puts it on the bus: the notifier's
// fields (message_id, publisher_id, event_type, priority, payload, timestamp), the request context
// packed as `_context_<key>` and a `_unique_id`, and for the messagingv2 driver the 2.0 envelope
// {"oslo.version": "2.0", "oslo.message": "<json>"} (the messaging driver sends the message bare).
import { randomUUID } from 'node:crypto';

/** oslo's priorities; the routing key is `<topic>.<priority in lower case>`. */
export const PRIORITIES = ['AUDIT', 'CRITICAL', 'DEBUG', 'INFO', 'ERROR', 'SAMPLE', 'WARN'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The request context a notification carries (Trove's context keys; never a token). */
export interface NotificationContext {
  request_id?: string;
  tenant?: string;
  project_id?: string;
  user?: string;
  user_id?: string;
  is_admin?: boolean;
}

export interface OsloNotification {
  message_id: string;
  publisher_id: string;
  event_type: string;
  priority: Priority;
  payload: Record<string, unknown>;
  timestamp: string;
  [packed: `_${string}`]: unknown;
}

/** Python's str(datetime.utcnow()): "2026-12-07 02:10:00.123456" (naive UTC, microseconds). */
export function pythonUtcTimestamp(at: Date): string {
  return `${at.toISOString().replace('T', ' ').replace('Z', '')}000`;
}

/** Trove's timeutils.isotime(): "2026-12-07T02:10:00Z" (no fraction). */
export function isotime(at: Date | string | number | null | undefined): string | null {
  if (at === null || at === undefined) return null;
  const d = at instanceof Date ? at : new Date(at);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function osloNotification(
  eventType: string,
  payload: Record<string, unknown>,
  priority: Priority,
  publisherId: string,
  context: NotificationContext = {},
  at = new Date(),
): OsloNotification {
  const message: OsloNotification = {
    message_id: randomUUID(),
    publisher_id: publisherId,
    event_type: eventType,
    priority,
    payload,
    timestamp: pythonUtcTimestamp(at),
  };
  for (const [k, v] of Object.entries(context)) if (v !== undefined) message[`_context_${k}`] = v;
  message._unique_id = randomUUID().replace(/-/g, '');
  return message;
}

/** The bytes on the bus: the 2.0 envelope (messagingv2) or the message itself (messaging). */
export function wireBody(message: OsloNotification, envelope: boolean): Buffer {
  const json = JSON.stringify(message);
  return Buffer.from(envelope ? JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': json }) : json);
}

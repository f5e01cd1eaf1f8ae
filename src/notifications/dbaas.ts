// Trove's dbaas.<action>.start/.end/.error notifications (trove/common/notification.py DBaaS*):
// the API sends .start with the request's base traits and hands the notification to the
// taskmanager in the cast's context (Trove's `trove_notification` and `trove_notification_class`
// keys); the taskmanager sends .end when its flow is done and .error (with message and exception)
// when it fails. The payload on the wire is the notification's whole payload, as Trove sends it.
import { scrubSecrets } from '../common/log.js';
import type { NotificationContext, Notifier } from './notifier.js';

export interface DbaasAction {
  /** Trove's class in trove.common.notification (the context's trove_notification_class). */
  className: string;
  /** Traits the start must carry besides the base ones. */
  start: string[];
  /** Traits the end must carry. */
  end: string[];
}

/** The actions whose work the taskmanager finishes (and so sends their end). */
export const DBAAS_ACTIONS = {
  instance_create: {
    className: 'DBaaSInstanceCreate',
    start: ['name', 'flavor_id', 'datastore', 'datastore_version', 'image_id', 'availability_zone', 'region_name'],
    end: ['instance_id'],
  },
  instance_delete: { className: 'DBaaSInstanceDelete', start: ['instance_id'], end: [] },
  instance_restart: { className: 'DBaaSInstanceRestart', start: ['instance_id'], end: [] },
  instance_resize_volume: { className: 'DBaaSInstanceResizeVolume', start: ['instance_id', 'new_size'], end: [] },
  instance_resize_instance: { className: 'DBaaSInstanceResizeInstance', start: ['instance_id', 'new_flavor_id'], end: [] },
} as const satisfies Record<string, DbaasAction>;

export type DbaasActionName = keyof typeof DBAAS_ACTIONS;

/** Trove's required_base_traits. */
export const BASE_TRAITS = ['tenant_id', 'client_ip', 'server_ip', 'server_type', 'request_id'] as const;

const CLASS_PREFIX = 'trove.common.notification.';

/** A notification in flight: what the cast's context carries to the taskmanager, and a flow keeps. */
export interface DbaasNotice {
  action: DbaasActionName;
  payload: Record<string, unknown>;
  context: NotificationContext;
}

/** The cast context's keys for a notice (Trove's names). */
export function noticeContext(n: DbaasNotice): Record<string, unknown> {
  return { trove_notification: n.payload, trove_notification_class: `${CLASS_PREFIX}${DBAAS_ACTIONS[n.action].className}` };
}

/** The notice a cast's context carries (none when it names no action the taskmanager finishes). */
export function noticeOf(context: Record<string, unknown>): DbaasNotice | undefined {
  const payload = context.trove_notification;
  const cls = context.trove_notification_class;
  if (!payload || typeof payload !== 'object' || typeof cls !== 'string') return undefined;
  const action = (Object.keys(DBAAS_ACTIONS) as DbaasActionName[]).find((a) => `${CLASS_PREFIX}${DBAAS_ACTIONS[a].className}` === cls);
  if (!action) return undefined;
  const pick = (k: string) => (typeof context[k] === 'string' ? (context[k] as string) : undefined);
  return {
    action,
    payload: payload as Record<string, unknown>,
    context: { request_id: pick('request_id'), tenant: pick('tenant'), project_id: pick('project_id'), user: pick('user'), user_id: pick('user_id') },
  };
}

/** The traits a phase must carry that the payload lacks. */
export function missingTraits(n: DbaasNotice, phase: 'start' | 'end' | 'error'): string[] {
  const own = phase === 'start' ? DBAAS_ACTIONS[n.action].start : phase === 'end' ? DBAAS_ACTIONS[n.action].end : ['message', 'exception'];
  return [...BASE_TRAITS, ...own].filter((k) => !(k in n.payload));
}

async function send(notifier: Notifier, n: DbaasNotice, phase: 'start' | 'end' | 'error', log: { warn(o: object, m: string): void }): Promise<void> {
  const missing = missingTraits(n, phase);
  if (missing.length) {
    log.warn({ action: n.action, missing }, `dbaas.${n.action}.${phase} not sent: required traits missing`);
    return;
  }
  await notifier.notify(`dbaas.${n.action}.${phase}`, n.payload, phase === 'error' ? 'ERROR' : 'INFO', { context: n.context });
}

export function sendStart(notifier: Notifier, n: DbaasNotice, log: { warn(o: object, m: string): void }): Promise<void> {
  return send(notifier, n, 'start', log);
}

/** The end, from `serverType` (taskmanager, conductor), with the end's traits. */
export function sendEnd(
  notifier: Notifier,
  n: DbaasNotice,
  serverType: string,
  traits: Record<string, unknown>,
  log: { warn(o: object, m: string): void },
): Promise<void> {
  return send(notifier, { ...n, payload: { ...n.payload, server_type: serverType, ...traits } }, 'end', log);
}

/** The error, from `serverType`, with what failed in words (scrubbed) as Trove's message and exception. */
export function sendError(notifier: Notifier, n: DbaasNotice, serverType: string, error: Error, log: { warn(o: object, m: string): void }): Promise<void> {
  const message = scrubSecrets(error.message);
  const exception = [`${error.name}: ${message}\n`];
  return send(notifier, { ...n, payload: { ...n.payload, server_type: serverType, message, exception } }, 'error', log);
}

/** A notice as Trove's SerializableNotification sends it to the conductor (the payload with its
 * `notification_classname`); none when it names no action known here. */
export function noticeFromSerialized(serialized: Record<string, unknown>, context: NotificationContext = {}): DbaasNotice | undefined {
  const { notification_classname: cls, ...payload } = serialized;
  if (typeof cls !== 'string') return undefined;
  const action = (Object.keys(DBAAS_ACTIONS) as DbaasActionName[]).find((a) => `${CLASS_PREFIX}${DBAAS_ACTIONS[a].className}` === cls);
  return action ? { action, payload, context } : undefined;
}

/** The error with the words and traceback the sender gave (the conductor forwarding a guest's). */
export function sendReportedError(
  notifier: Notifier,
  n: DbaasNotice,
  serverType: string,
  message: string,
  exception: string[] | string | null | undefined,
  log: { warn(o: object, m: string): void },
): Promise<void> {
  const lines = (Array.isArray(exception) ? exception : exception ? [exception] : []).map((l) => scrubSecrets(l));
  return send(notifier, { ...n, payload: { ...n.payload, server_type: serverType, message: scrubSecrets(message), exception: lines } }, 'error', log);
}

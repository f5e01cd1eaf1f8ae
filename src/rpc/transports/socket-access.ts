// Who may do what on the all-in-one socket bus: every connection authenticates first, as a guest
// (its instance's topic to consume, the conductor's to publish to, the callers that asked it to
// reply to: RabbitMQ's guest permissions) or as a service (everything). Names only, no message.
import { unwrap } from '../envelope.js';
import { CONDUCTOR_TOPIC, guestTopic } from '../topics.js';

export interface BusGrant {
  /** The user the connection authenticated as (for log lines). */
  readonly user: string;
  mayDeclare(queue: string, keys: string[], fanout: string | undefined): boolean;
  mayConsume(queue: string): boolean;
  mayPublish(routingKey: string): boolean;
  mayFanout(exchange: string): boolean;
  maySend(queue: string): boolean;
  /** Told of every message delivered to the connection (before it is written to it). */
  delivered?(body: Buffer): void;
}

/** Checks a connection's credentials; undefined = refused. */
export interface BusAuthenticator {
  authenticate(user: string, password: string): Promise<BusGrant | undefined>;
}

/** A service's connection: may do anything. */
export function serviceGrant(user: string): BusGrant {
  const yes = () => true;
  return { user, mayDeclare: yes, mayConsume: yes, mayPublish: yes, mayFanout: yes, maySend: yes };
}

const REPLY_QUEUES_KEPT = 256;

/**
 * An instance's guest: declares and consumes only `guestagent.<id>` (bound to its own key) and
 * its fanout queues, publishes only to the conductor's topic, and sends only to the reply queues
 * named by calls it was delivered (not any caller's, as RabbitMQ's `^reply_` regex allows).
 */
export function guestGrant(user: string, instanceId: string): BusGrant {
  const topic = guestTopic(instanceId);
  const fanoutQueue = (q: string) => q.startsWith(`${topic}_fanout_`) && /^[0-9a-f]+$/.test(q.slice(topic.length + 8));
  const replies = new Set<string>();
  return {
    user,
    mayDeclare: (queue, keys, fanout) =>
      (queue === topic && keys.every((k) => k === topic) && fanout === undefined) || (fanoutQueue(queue) && keys.length === 0 && fanout === `${topic}_fanout`),
    mayConsume: (queue) => queue === topic || fanoutQueue(queue),
    mayPublish: (key) => key === CONDUCTOR_TOPIC,
    mayFanout: () => false,
    maySend: (queue) => replies.has(queue),
    delivered(body) {
      let replyQ: unknown;
      try {
        replyQ = unwrap(body)._reply_q;
      } catch {
        return; // not an oslo message: nothing to answer
      }
      if (typeof replyQ !== 'string' || !/^reply_[0-9a-f]+$/.test(replyQ)) return;
      replies.delete(replyQ);
      replies.add(replyQ);
      if (replies.size > REPLY_QUEUES_KEPT) replies.delete(replies.values().next().value!);
    },
  };
}

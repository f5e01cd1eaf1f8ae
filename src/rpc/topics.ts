// The topics (queue names) of the three services and the guests, and which of them must be durable.

export const TASKMANAGER_TOPIC = 'taskmanager';
export const CONDUCTOR_TOPIC = 'trove-conductor';
export const GUEST_PREFIX = 'guestagent.';

/** A guest's topic: `guestagent.<instance id>`. */
export const guestTopic = (instanceId: string): string => `${GUEST_PREFIX}${instanceId}`;

/** The services' own topics (not a guest's): a cast there declares the queue first, so the work
 * waits for a taskmanager or conductor that is not up yet (after a broker restart, say). */
export const serviceTopic = (topic: string): boolean => topic === TASKMANAGER_TOPIC || topic === CONDUCTOR_TOPIC;

/** Queues that survive a broker restart, with persistent messages: a message lost there is lost
 * work (a taskmanager flow, a guest's status, a guest's prepare). */
export const durableTopic = (topic: string): boolean => topic === TASKMANAGER_TOPIC || topic === CONDUCTOR_TOPIC || topic.startsWith(GUEST_PREFIX);

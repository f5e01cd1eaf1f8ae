// The message bus as a health check backend: a message no queue is bound to, published and
// confirmed by the broker (then dropped), proves the bus answers.
import type { HealthCheck } from '../common/metrics/health.js';
import { scrubSecrets } from '../common/log.js';
import type { Transport } from './transport.js';

/** The routing key of the probe: no queue is ever bound to it. */
export const HEALTHCHECK_ROUTING_KEY = 'trove-ts.healthcheck';

/** The transport's state, and why its last connection attempt failed when it did. */
function stateOf(transport: Transport): string {
  const why = transport.lastConnectError;
  return `the transport is ${transport.state}${why ? `; last connection attempt: ${why}` : ''}`;
}

export function busCheck(transport: Transport): HealthCheck {
  return {
    name: 'bus',
    async check() {
      const started = Date.now();
      try {
        await transport.publish(HEALTHCHECK_ROUTING_KEY, Buffer.from('{}'), false, 1);
      } catch (err) {
        throw new Error(scrubSecrets(`${(err as Error).message || String(err)} (${stateOf(transport)})`), { cause: err });
      }
      return `the message bus confirmed a message in ${Date.now() - started} ms`;
    },
    silent: () => scrubSecrets(stateOf(transport)),
  };
}

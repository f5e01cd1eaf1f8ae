// The message bus as a health check backend: a message no queue is bound to, published and
// confirmed by the broker (then dropped), proves the bus answers.
import type { HealthCheck } from '../common/metrics/health.js';
import type { Transport } from './transport.js';

/** The routing key of the probe: no queue is ever bound to it. */
export const HEALTHCHECK_ROUTING_KEY = 'trove-ts.healthcheck';

export function busCheck(transport: Transport): HealthCheck {
  return {
    name: 'bus',
    async check() {
      const started = Date.now();
      try {
        await transport.publish(HEALTHCHECK_ROUTING_KEY, Buffer.from('{}'), false, 1);
      } catch (err) {
        throw new Error(`${(err as Error).message || String(err)} (the transport is ${transport.state})`, { cause: err });
      }
      return `the message bus confirmed a message in ${Date.now() - started} ms`;
    },
    silent: () => `the transport is ${transport.state}`,
  };
}

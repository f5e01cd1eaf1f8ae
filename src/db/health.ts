// The control database as a health check backend: one trivial statement, answered or not.
import { scrubSecrets } from '../common/log.js';
import type { HealthCheck } from '../common/metrics/health.js';
import type { Db } from './connection.js';

export function databaseCheck(db: Db): HealthCheck {
  return {
    name: 'database',
    async check() {
      const started = Date.now();
      try {
        await db.raw('select 1');
      } catch (err) {
        throw new Error(scrubSecrets((err as Error).message || String(err)), { cause: err });
      }
      return `the control database answered in ${Date.now() - started} ms`;
    },
  };
}

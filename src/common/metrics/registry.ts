// The process's one Prometheus registry (prom-client): every metric of trove-ts is registered
// here, with Node's own (memory, event-loop lag, handles, GC) collected from the first import.
import { collectDefaultMetrics, Registry } from 'prom-client';

export const registry = new Registry();

collectDefaultMetrics({ register: registry });

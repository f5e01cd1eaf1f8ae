// [metrics]: the Prometheus port of each service (off by default in cloud mode; the all-in-one
// turns it on, one port for its one process); [healthcheck] detailed: oslo.middleware's key.
import { z } from 'zod';
import { opt } from '../config/schema.js';

export const metricsSection = z.object({
  enabled: opt.bool(false),
  bind_host: opt.str('0.0.0.0'),
  api_port: opt.int(9779, 0, 65535),
  taskmanager_port: opt.int(9780, 0, 65535),
  conductor_port: opt.int(9781, 0, 65535),
});

export type MetricsConfig = z.output<typeof metricsSection>;

export const healthcheckSection = z.object({
  detailed: opt.bool(false),
});

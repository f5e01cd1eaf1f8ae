// A service's metrics port: GET /metrics (the registry in Prometheus' text format) and GET/HEAD
// /healthcheck (oslo.middleware's shape, over the service's checks). No token: it shows counts,
// timings and instance ids, never a secret.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import type { RawConfig } from '../config/reader.js';
import { configSection } from '../config/schema.js';
import { healthcheckSection, metricsSection } from './config.js';
import type { Logger } from '../log.js';
import { healthResponse, runChecks, type HealthCheck } from './health.js';
import { registry } from './registry.js';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  checks: HealthCheck[];
  detailed?: boolean;
  log: Logger;
  /** The config key of the port, for the error when it is taken. */
  portKey: string;
  /** The text of a scrape; default: this process's registry (trove-api's primary: its workers' aggregated). */
  scrape?: () => Promise<string>;
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, o: MetricsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const reading = req.method === 'GET' || req.method === 'HEAD';
  if (path === '/metrics' && reading) {
    const body = await (o.scrape ?? (() => registry.metrics()))();
    res.writeHead(200, { 'Content-Type': registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (path === '/healthcheck' && reading) {
    const r = healthResponse(await runChecks(o.checks), { method: req.method!, accept: req.headers.accept, detailed: o.detailed ?? false });
    res.writeHead(r.status, { 'Content-Type': r.contentType });
    res.end(r.body);
    return;
  }
  res.writeHead(reading ? 404 : 405, { 'Content-Type': 'text/plain; charset=UTF-8' });
  res.end(reading ? 'Not Found: /metrics and /healthcheck are served here\n' : 'Method Not Allowed\n');
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    answer(req, res, o).catch((err: unknown) => {
      o.log.error({ err: (err as Error).message }, 'metrics port: request failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=UTF-8' });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ConfigError(`trove.conf [metrics] ${o.portKey}: ${o.port} is already in use`) : err),
    );
    server.listen(o.port, o.host, resolve);
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  o.log.info({ url }, 'metrics and health check listening');
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

export type MetricsService = 'api' | 'taskmanager' | 'conductor';

/** The service's metrics port from [metrics] when it is enabled (its `<service>_port`); undefined when not. */
export async function serveConfiguredMetrics(
  raw: RawConfig,
  service: MetricsService,
  checks: HealthCheck[],
  log: Logger,
  scrape?: () => Promise<string>,
): Promise<MetricsServer | undefined> {
  const m = configSection(raw, 'metrics', metricsSection);
  if (!m.enabled) return undefined;
  const portKey = `${service}_port` as const;
  const { detailed } = configSection(raw, 'healthcheck', healthcheckSection);
  return startMetricsServer({ host: m.bind_host, port: m[portKey], checks, detailed, log, portKey, ...(scrape ? { scrape } : {}) });
}

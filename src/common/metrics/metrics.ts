// Every trove-ts metric, declared once on the process's registry: the services only observe them.
// Labels are bounded sets (route templates, flow and step names, RPC topics without instance ids),
// except the per-instance heartbeat age, which forgets an instance silent for an hour.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from './registry.js';

const registers = [registry];

/** Latency buckets (s) for requests and RPC calls: 5 ms to a minute. */
const FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Buckets (s) for flows, their steps and backups: a second to three hours. */
const SLOW = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 10800];

export const apiRequests = new Counter({
  name: 'trove_api_requests_total',
  help: 'trove-api requests answered, by route template, method and status',
  labelNames: ['route', 'method', 'status'] as const,
  registers,
});

export const apiRequestDuration = new Histogram({
  name: 'trove_api_request_duration_seconds',
  help: 'trove-api request latency, by route template, method and status',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: FAST,
  registers,
});

export const flowsStarted = new Counter({
  name: 'trove_flows_started_total',
  help: 'taskmanager flows started (recorded), by flow',
  labelNames: ['flow'] as const,
  registers,
});

export const flowsFailed = new Counter({
  name: 'trove_flows_failed_total',
  help: 'taskmanager flows that failed, by flow and the step that failed',
  labelNames: ['flow', 'step'] as const,
  registers,
});

export const flowDuration = new Histogram({
  name: 'trove_flow_duration_seconds',
  help: 'taskmanager flow run time in this process (a resumed flow from its resumption), by flow and outcome (done, failed)',
  labelNames: ['flow', 'outcome'] as const,
  buckets: SLOW,
  registers,
});

export const flowStepDuration = new Histogram({
  name: 'trove_flow_step_duration_seconds',
  help: 'taskmanager flow step run time, by flow, step and outcome (done, failed, retried: the control database failed under it)',
  labelNames: ['flow', 'step', 'outcome'] as const,
  buckets: SLOW,
  registers,
});

export const heartbeatsReceived = new Counter({
  name: 'trove_heartbeats_received_total',
  help: 'guest heartbeats the conductor received, by the service status they report',
  labelNames: ['status'] as const,
  registers,
});

/** When the conductor last received a heartbeat of each instance (epoch ms), oldest first. */
const lastHeartbeat = new Map<string, number>();

/** An instance silent this long is forgotten (deleted, most likely): its age is no longer shown. */
export const HEARTBEAT_FORGET_MS = 3600_000;
const HEARTBEATS_KEPT = 100_000;

export const heartbeatAge = new Gauge({
  name: 'trove_instance_heartbeat_age_seconds',
  help: "seconds since the conductor received each instance's last heartbeat (an instance silent for an hour is dropped)",
  labelNames: ['instance_id'] as const,
  registers,
  collect() {
    const now = Date.now();
    this.reset();
    for (const [id, at] of lastHeartbeat) {
      if (now - at > HEARTBEAT_FORGET_MS) lastHeartbeat.delete(id);
      else this.set({ instance_id: id }, (now - at) / 1000);
    }
  },
});

/** A heartbeat of an instance was received now. */
export function noteHeartbeat(instanceId: string, status: string): void {
  heartbeatsReceived.inc({ status });
  lastHeartbeat.delete(instanceId); // re-inserted last: the map stays oldest first
  lastHeartbeat.set(instanceId, Date.now());
  if (lastHeartbeat.size > HEARTBEATS_KEPT) lastHeartbeat.delete(lastHeartbeat.keys().next().value!);
}

export const backupSize = new Histogram({
  name: 'trove_backup_size_gigabytes',
  help: 'sizes of the backups completed (GB, as Trove reports them)',
  buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000],
  registers,
});

export const backupDuration = new Histogram({
  name: 'trove_backup_duration_seconds',
  help: 'backup run time, from the cast to the guest to its end, by outcome (completed, failed)',
  labelNames: ['outcome'] as const,
  buckets: SLOW,
  registers,
});

export const rpcCallDuration = new Histogram({
  name: 'trove_rpc_call_duration_seconds',
  help: 'RPC call latency (a call waits for its answer), by topic (without the instance id), method and outcome (ok, error, timeout)',
  labelNames: ['topic', 'method', 'outcome'] as const,
  buckets: FAST,
  registers,
});

export const rpcCallTimeouts = new Counter({
  name: 'trove_rpc_call_timeouts_total',
  help: 'RPC calls that got no answer in time, by topic (without the instance id) and method',
  labelNames: ['topic', 'method'] as const,
  registers,
});

/** A topic as a label: an instance's guest topic (guestagent.<id>) and a server's (<topic>.<host>) lose their suffix. */
export const topicLabel = (topic: string): string => topic.split('.')[0]!;

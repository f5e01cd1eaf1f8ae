// Resumable flows: a flow is an ordered list of named steps over one instance. After every step
// the flow's state (next step + the data it gathered, e.g. created resource ids) is written to
// instances.flow_state, so a taskmanager that dies mid-flow is resumed by the next one from the
// last finished step. A failing step (or the deadline) runs the flow's `fail` handler, which
// cleans up and leaves the instance in a visible error state.
import type { Db } from '../db/connection.js';
import type { Logger } from '../common/log.js';
import { flowDuration, flowsFailed, flowsStarted, flowStepDuration } from '../common/metrics/metrics.js';
import { databaseUnavailable } from '../db/connection.js';
import { claimLease, endFlow, flowsToResume, recordedFlow, recordFlow, recordFlowUnlessHeld, saveFlow, type FlowState } from '../db/flows.js';

export interface StepContext<D> {
  instanceId: string;
  data: D;
  deadline: number;
  log: Logger;
  /** Persists `data` now (e.g. right after a resource was created, before waiting on it). */
  save(): Promise<void>;
}

export interface Step<D> {
  name: string;
  run(ctx: StepContext<D>): Promise<void>;
}

export interface FlowDefinition<D> {
  name: string;
  steps: Step<D>[];
  /** Called once when a step throws or the deadline passes: roll back and record the fault. */
  fail(ctx: StepContext<D>, error: Error, step: string): Promise<void>;
  /** Called after the last step. */
  done?(ctx: StepContext<D>): Promise<void>;
}

export class FlowTimeoutError extends Error {
  constructor(flow: string, step: string) {
    super(`${flow} timed out in step ${step}`);
    this.name = 'FlowTimeoutError';
  }
}

export interface FlowRunnerOptions {
  db: Db;
  log: Logger;
  /** This taskmanager's identity for leases (host:pid). */
  owner: string;
  leaseSeconds?: number;
  /** Waits (ms) before each new run of a step the control database failed under (down, paused, busy). */
  databaseRetryMs?: number[];
}

/**
 * A step that failed because the control database could not be reached runs again after these
 * waits (about 75 s in all, never past the flow's deadline), as a resumed flow would run it: steps
 * are written to be run again. Only then does the flow fail, with the database's error.
 */
/** The control database failed under a step (an OpenStack API's HTTP error carries the same socket codes: not that). */
const controlDatabaseFailed = (err: unknown) => databaseUnavailable(err) && (err as { isAxiosError?: unknown }).isAxiosError !== true;

const DATABASE_RETRY_MS = [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000];

/** Runs and resumes flows, one at a time per instance, with a lease renewed while a step runs. */
export class FlowRunner {
  private readonly flows = new Map<string, FlowDefinition<unknown>>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly leaseSeconds: number;
  private stopped = false;

  constructor(private readonly o: FlowRunnerOptions) {
    this.leaseSeconds = o.leaseSeconds ?? 60;
  }

  register<D>(flow: FlowDefinition<D>): void {
    this.flows.set(flow.name, flow as FlowDefinition<unknown>);
  }

  /** Starts a flow for an instance (its row must exist). Resolves when the flow has ended. */
  async start<D>(flowName: string, instanceId: string, data: D, timeoutSeconds: number): Promise<void> {
    const state: FlowState<D> = { flow: flowName, step: 0, data, deadline: Date.now() + timeoutSeconds * 1000 };
    await recordFlow(this.o.db, instanceId, state);
    flowsStarted.inc({ flow: flowName });
    return this.run(instanceId);
  }

  /**
   * Records a flow for an instance unless one is already recorded (a redelivered message must not
   * restart a flow from step 0), then runs it in the background. Resolves once recorded: true if
   * this call recorded it, false if a flow was already there.
   */
  async begin<D>(flowName: string, instanceId: string, data: D, timeoutSeconds: number): Promise<boolean> {
    const state: FlowState<D> = { flow: flowName, step: 0, data, deadline: Date.now() + timeoutSeconds * 1000 };
    const recorded = await recordFlowUnlessHeld(this.o.db, instanceId, state);
    if (recorded) flowsStarted.inc({ flow: flowName });
    if (!recorded) this.o.log.info({ instance_id: instanceId, flow: flowName }, 'a flow is already recorded for this instance; resuming it');
    void this.run(instanceId).catch((err) => this.o.log.error({ instance_id: instanceId, err: String(err) }, 'flow crashed'));
    return recorded;
  }

  /** Resumes every flow whose lease is free or expired (at startup, and periodically). */
  async resumeAll(): Promise<string[]> {
    const ids = (await flowsToResume(this.o.db)).filter((id) => !this.running.has(id));
    for (const id of ids) void this.run(id).catch((err) => this.o.log.error({ instance_id: id, err: String(err) }, 'flow crashed'));
    return ids;
  }

  /**
   * Starts no further step (nor a database retry's next run): the flows in progress stay recorded,
   * and the next taskmanager resumes them once their lease expires, as after a crash.
   */
  stop(): void {
    this.stopped = true;
  }

  /** Waits for every flow this runner is executing. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  private run(instanceId: string): Promise<void> {
    const existing = this.running.get(instanceId);
    if (existing) return existing;
    const p = this.execute(instanceId).finally(() => this.running.delete(instanceId));
    this.running.set(instanceId, p);
    return p;
  }

  private acquire(instanceId: string): Promise<boolean> {
    return claimLease(this.o.db, instanceId, this.o.owner, new Date(Date.now() + this.leaseSeconds * 1000));
  }

  private async execute(instanceId: string): Promise<void> {
    if (!(await this.acquire(instanceId))) return;
    const state = await recordedFlow(this.o.db, instanceId);
    if (!state) return;
    const flow = this.flows.get(state.flow);
    const log = this.o.log.child({ instance_id: instanceId, flow: state.flow });
    if (!flow) {
      log.error('unknown flow in flow_state; leaving it for a taskmanager that knows it');
      return;
    }
    const renew = setInterval(() => void this.acquire(instanceId).catch(() => undefined), (this.leaseSeconds * 1000) / 3);
    renew.unref();
    const persist = () => saveFlow(this.o.db, instanceId, this.o.owner, state);
    const ctx: StepContext<unknown> = { instanceId, data: state.data, deadline: state.deadline, log, save: persist };
    const endFlowTimer = flowDuration.startTimer({ flow: flow.name });
    const retryMs = this.o.databaseRetryMs ?? DATABASE_RETRY_MS;
    let databaseRetries = 0;
    try {
      while (state.step < flow.steps.length) {
        if (this.stopped) return;
        const step = flow.steps[state.step]!;
        const endStepTimer = flowStepDuration.startTimer({ flow: flow.name, step: step.name });
        try {
          if (Date.now() > state.deadline) throw new FlowTimeoutError(flow.name, step.name);
          log.info({ step: step.name }, 'flow step');
          await step.run(ctx);
          endStepTimer({ outcome: 'done' });
          databaseRetries = 0;
        } catch (err) {
          if (this.stopped) {
            // the taskmanager is stopping (its bus and database going): not the flow's failure
            endStepTimer({ outcome: 'retried' });
            log.info({ step: step.name, err: (err as Error).message }, 'taskmanager stopping: the flow is left for the next one');
            return;
          }
          const wait = controlDatabaseFailed(err) ? retryMs[databaseRetries] : undefined;
          if (wait !== undefined && Date.now() + wait < state.deadline) {
            databaseRetries++;
            endStepTimer({ outcome: 'retried' });
            log.warn({ step: step.name, err: (err as Error).message, retry_in_ms: wait }, 'the control database failed under a flow step; the step runs again');
            await new Promise((r) => setTimeout(r, wait).unref());
            continue;
          }
          endStepTimer({ outcome: 'failed' });
          flowsFailed.inc({ flow: flow.name, step: step.name });
          const error = err instanceof Error ? err : new Error(String(err));
          log.warn({ step: step.name, err: error.message }, 'flow step failed');
          await flow.fail(ctx, error, step.name);
          await this.finish(instanceId);
          endFlowTimer({ outcome: 'failed' });
          return;
        }
        state.step += 1;
        await persist();
      }
      await flow.done?.(ctx);
      await this.finish(instanceId);
      endFlowTimer({ outcome: 'done' });
    } finally {
      clearInterval(renew);
    }
  }

  private async finish(instanceId: string): Promise<void> {
    await endFlow(this.o.db, instanceId);
  }
}

// A flow started by an API action that sent dbaas.<action>.start keeps the notice in its data and
// finishes it: dbaas.<action>.end when the flow is done, .error with why when it fails (Trove's
// EndNotification around the taskmanager's work), from server_type taskmanager.
import type { DbaasNotice } from '../notifications/dbaas.js';
import { sendEnd, sendError } from '../notifications/dbaas.js';
import type { FlowDefinition } from './flow.js';
import type { TaskContext } from './context.js';

export interface WithNotice {
  notice?: DbaasNotice;
}

/** The notice a flow's data carries. */
export const noticeIn = (data: unknown): DbaasNotice | undefined => (data as WithNotice | null)?.notice;

export function finishingNotices<D>(ctx: TaskContext, def: FlowDefinition<D>): FlowDefinition<D> {
  return {
    ...def,
    done: async (s) => {
      await def.done?.(s);
      const n = noticeIn(s.data);
      if (n) void sendEnd(ctx.notifier, n, 'taskmanager', { instance_id: s.instanceId }, ctx.log);
    },
    fail: async (s, error, step) => {
      await def.fail(s, error, step);
      const n = noticeIn(s.data);
      if (n) void sendError(ctx.notifier, n, 'taskmanager', error, ctx.log);
    },
  };
}

// The guest's log verbs (Trove's guest_log_list / guest_log_action): the engine declares its logs
// and turns USER logs on and off; the agent reads the files and publishes them into the caller's
// object store (the storage descriptor the call carries, as create_backup's). As in Trove, a log
// that is not exposed (SYS logs by default) is shown and published only for an administrator
// (the call's context is_admin), SYS logs cannot be enabled or disabled, and a publish enables a
// USER log first unless the same call disables it.
import type { Logger } from '../src/common/log.js';
import type { Handlers, HandlerContext } from '../src/rpc/contract.js';
import type { GuestContract } from '../src/rpc/contracts/guest.js';
import type { BackupStorage as StorageDescriptor } from '../src/rpc/contracts/common.js';
import { InvalidValueError, NotSupportedError, type Engine, type LogDefinition, type Logs } from './capabilities.js';
import { backupStorage, type BackupConfig } from './backup/config.js';
import type { BackupStorage } from './backup/storage/storage.js';
import { guestLogDefaults, type GuestLogConfig } from './guest-log/config.js';
import { GuestLogBook } from './guest-log/guest-log.js';

export interface LogHandlerOptions {
  instanceId: string;
  engine: Engine;
  log: Logger;
  backupConfig: BackupConfig;
  /** [DEFAULT] guest_log_* keys and the state file; absent: Trove's defaults, kept in memory. */
  guestLogs?: { config: GuestLogConfig; stateFile?: string | undefined } | undefined;
}

/** A log this engine does not define (Trove's NotFound: 404). */
export class LogNotFoundError extends Error {
  override name = 'LogNotFoundError';
}

/** A log the caller may not see or publish (Trove's LogAccessForbidden: 403). */
export class LogAccessForbiddenError extends Error {
  override name = 'LogAccessForbiddenError';
}

const isAdmin = (ctx: HandlerContext) => ctx.context.is_admin === true || ctx.context.is_admin === 'True';

function storageOf(d: StorageDescriptor | null | undefined, c: BackupConfig): BackupStorage {
  if (!d) throw new InvalidValueError('Publishing or discarding a log needs an object store, and the call named none.');
  if (d.driver === 'local') return backupStorage('local', c);
  if (!d.url || !d.auth_token) throw new InvalidValueError('Publishing to Swift needs the object-store URL and a token.');
  const token = d.auth_token;
  return backupStorage('swift', c, { endpoint: d.url, token: async () => token });
}

export function logHandlers(o: LogHandlerOptions): Pick<Handlers<GuestContract>, 'guest_log_list' | 'guest_log_action'> {
  const book = new GuestLogBook({
    instanceId: o.instanceId,
    manager: o.engine.name,
    config: o.guestLogs?.config ?? guestLogDefaults.parse({}),
    stateFile: o.guestLogs?.stateFile,
    log: o.log,
  });
  const logs = (): Logs => {
    if (!o.engine.logs) throw new NotSupportedError(`Guest logs are not supported for the '${o.engine.name}' datastore.`);
    return o.engine.logs;
  };
  const show = async (l: Logs, def: LogDefinition) => book.show(def, def.type === 'USER' ? await l.state(def.name) : 'enabled');

  return {
    guest_log_list: async (_a, ctx) => {
      const l = logs();
      const out = [];
      for (const def of l.definitions()) if (def.exposed || isAdmin(ctx)) out.push(await show(l, def));
      return out;
    },
    guest_log_action: async (a, ctx) => {
      const l = logs();
      const def = l.definitions().find((d) => d.name === a.log_name);
      if (!def) throw new LogNotFoundError(`Log '${a.log_name}' is not defined.`);
      if (!def.exposed && !isAdmin(ctx)) {
        const action = a.publish ? 'publish' : a.discard ? 'discard' : 'show';
        throw new LogAccessForbiddenError(`You must be admin to ${action} the log '${def.name}'.`);
      }
      if (a.enable && a.disable) throw new InvalidValueError(`Cannot enable and disable log '${def.name}'.`);
      // Trove: publishing enables the log, unless the same call disables it
      const enable = a.enable || (a.publish && !a.disable);
      if (def.type === 'SYS' && !a.publish && (a.enable || a.disable)) {
        throw new InvalidValueError(`Cannot ${a.enable ? 'enable' : 'disable'} a SYSTEM log ('${def.name}').`);
      }
      return book.serialized(def.name, async () => {
        if (def.type === 'USER' && (enable || a.disable)) {
          const current = await l.state(def.name);
          const want = !a.disable;
          if ((current === 'disabled') === want) {
            const now = await l.setEnabled(def.name, want);
            o.log.info({ log: def.name, state: now }, want ? 'guest log enabled' : 'guest log disabled');
          }
        }
        if (a.discard) await book.discard(def, storageOf(a.storage, o.backupConfig));
        if (a.publish) await book.publish(def, storageOf(a.storage, o.backupConfig));
        return show(l, def);
      });
    },
  };
}

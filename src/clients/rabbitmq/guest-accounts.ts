// The guests' bus accounts on RabbitMQ as the configuration asks for them: the management API,
// with the local rabbitmqctl as the fallback when the API cannot be reached at all (an answer
// such as 401 is not a reason to go around it). Each operation tries the API first.
import type { RawConfig } from '../../common/config/reader.js';
import { configSection } from '../../common/config/schema.js';
import type { Logger } from '../../common/log.js';
import type { BusAccounts } from '../bus-accounts.js';
import { managementTarget, ManagementUnreachable, rabbitManagementSection, RabbitManagement } from './management.js';
import { RabbitCtl } from './rabbitmqctl.js';

export { guestTransportUrl } from './management.js';

/** The management API's accounts, and rabbitmqctl's when the API cannot be reached. */
export class ManagementWithCtlFallback implements BusAccounts {
  constructor(
    private readonly api: BusAccounts,
    private readonly ctl: RabbitCtl | undefined,
    private readonly log?: Logger,
  ) {}

  private async either(what: string, op: (a: BusAccounts) => Promise<void>): Promise<void> {
    try {
      await op(this.api);
    } catch (err) {
      if (!(err instanceof ManagementUnreachable) || !this.ctl) throw err;
      this.log?.warn({ err: err.message, op: what }, 'RabbitMQ management API unreachable: using the local rabbitmqctl');
      await op(this.ctl).catch((e: Error) => {
        throw new Error(`${err.message}; the rabbitmqctl fallback failed too: ${e.message}`);
      });
    }
  }

  ensureGuest(instanceId: string, password: string): Promise<void> {
    return this.either('ensure guest user', (a) => a.ensureGuest(instanceId, password));
  }

  removeGuest(instanceId: string): Promise<void> {
    return this.either('remove guest user', (a) => a.removeGuest(instanceId));
  }
}

/** The guests' bus accounts the configuration asks for: RabbitMQ's, or none (in-process, socket, or guest_users = false). */
export function busAccountsFromConfig(raw: RawConfig, transportUrl: string, exchange: string, log?: Logger) {
  if (!transportUrl.startsWith('rabbit://')) return undefined;
  const c = configSection(raw, 'rabbit_management', rabbitManagementSection);
  if (!c.guest_users) return undefined;
  const target = managementTarget(raw, transportUrl);
  const ctl = c.rabbitmqctl ? new RabbitCtl({ command: c.rabbitmqctl, node: c.rabbitmqctl_node || undefined, vhost: target.vhost, exchange }) : undefined;
  const accounts: BusAccounts = new ManagementWithCtlFallback(new RabbitManagement(target, exchange), ctl, log);
  return { accounts, target };
}

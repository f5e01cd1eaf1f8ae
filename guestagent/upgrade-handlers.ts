// upgrade_agent: a new agent package installed over this agent's code (guestagent/platform/
// agent-package.ts), then the agent restarts on it once its answer is sent (its unit starts it
// again: an exit code other than 0 and 78). The engine is not touched: it is a daemon of its own
// and the new agent finds it running. A failed install keeps this agent running and says why.
import type { Logger } from '../src/common/log.js';
import type { Handlers } from '../src/rpc/contract.js';
import type { GuestContract } from '../src/rpc/contracts/guest.js';
import { NotSupportedError } from './capabilities.js';
import { installAgentPackage, shownLocation, type InstallOptions } from './platform/agent-package.js';

export interface UpgradeHandlerOptions {
  log: Logger;
  /** [DEFAULT] agent_install_dir: '' = not upgraded by RPC */
  installDir: string;
  /** Stops this agent so that its unit starts the installed code (main.ts: exits with EXIT_RESTART). */
  restart: () => void;
  /** How long after the answer the agent restarts (its reply must leave first). */
  restartDelayMs?: number;
  install?: InstallOptions;
}

export function upgradeHandlers(o: UpgradeHandlerOptions): Pick<Handlers<GuestContract>, 'upgrade_agent'> {
  return {
    upgrade_agent: async (a) => {
      if (!o.installDir)
        throw new NotSupportedError(
          'This guest agent is not upgraded by RPC: its [DEFAULT] agent_install_dir is not set (the all-in-one restarts its agents instead).',
        );
      o.log.info({ location: shownLocation(a.location) }, 'installing a guest agent package');
      const installed = await installAgentPackage(a, o.installDir, o.install);
      o.log.info({ version: installed.version }, 'guest agent package installed; restarting on it');
      setTimeout(o.restart, o.restartDelayMs ?? 1000).unref();
      return installed;
    },
  };
}

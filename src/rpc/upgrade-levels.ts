// Trove's [upgrade_levels]: the newest guest RPC version the control plane sends (oslo's
// version_cap), during a rolling upgrade of the control plane; and, per instance, the version its
// agent reported in its heartbeats. The lower of the two caps what a guest is sent: a verb its
// agent does not have is refused with a message saying so, never a message the agent ignores.
import { z } from 'zod';
import { opt } from '../common/config/schema.js';
import { versionCompatible, type VersionCap } from './contract.js';
import { rpcVersion } from './contracts/common.js';

export const upgradeLevelsSection = z.object({
  /** The newest guest RPC API version sent to any guest agent: 'latest' (or empty) = no cap, or e.g. 1.1. */
  guestagent: opt.str('latest').refine((v) => v === 'latest' || v === '' || rpcVersion.safeParse(v).success, "expected 'latest' or an RPC version such as 1.1"),
});

export type UpgradeLevels = z.output<typeof upgradeLevelsSection>;

/** What an agent that reports no version speaks: the agents of before the report (trove-ts 0.1 without it). */
export const UNREPORTED_GUEST_RPC = '1.1';

/** The cap of one instance's guest: the lower of what its agent reported and [upgrade_levels] guestagent. */
export function guestVersionCap(instanceId: string, reported: string | null | undefined, levels: UpgradeLevels): VersionCap {
  const agent: VersionCap = reported
    ? { version: reported, holder: `The guest agent of instance ${instanceId} speaks RPC ${reported}`, remedy: 'upgrade the agent' }
    : {
        version: UNREPORTED_GUEST_RPC,
        holder: `The guest agent of instance ${instanceId} has not reported its RPC version (an agent that does not speaks ${UNREPORTED_GUEST_RPC})`,
        remedy: 'upgrade the agent, or wait for its first heartbeat',
      };
  const configured = levels.guestagent === 'latest' ? '' : levels.guestagent;
  if (configured && versionCompatible(agent.version, configured) && configured !== agent.version)
    return {
      version: configured,
      holder: `[upgrade_levels] guestagent caps guest RPC at ${configured}`,
      remedy: 'raise it once every control plane service is upgraded',
    };
  return agent;
}

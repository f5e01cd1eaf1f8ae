// What this guest agent says it is in each heartbeat: its package's version and the guest RPC API
// version it serves (the newest `since` of the guest contract). Both can be set lower in its
// configuration ([DEFAULT] agent_version / agent_rpc_version) to run it as an older (N-1) agent.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/common/package-root.js';
import { contractVersion, versionCompatible } from '../src/rpc/contract.js';
import { guestContract } from '../src/rpc/contracts/guest.js';
import { ConfigError } from '../src/common/errors.js';

/** Set by the image's bundle (esbuild's define), which has no package.json beside it. */
declare const TROVE_AGENT_VERSION: string | undefined;

export interface AgentVersion {
  /** the package's version (package.json), e.g. 0.1.0 */
  version: string;
  /** the guest RPC API version served, e.g. 1.2 */
  rpcVersion: string;
}

/** The package's version (package.json, or the bundle's). */
export function packageVersion(): string {
  if (typeof TROVE_AGENT_VERSION === 'string') return TROVE_AGENT_VERSION;
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(import.meta.url), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** This agent's version, with the configuration's overrides (an RPC version newer than the code's is refused). */
export function agentVersion(overrides: { agent_version: string; agent_rpc_version: string }): AgentVersion {
  const own = contractVersion(guestContract);
  const rpcVersion = overrides.agent_rpc_version || own;
  if (!versionCompatible(own, rpcVersion))
    throw new ConfigError(`trove-guestagent.conf [DEFAULT] agent_rpc_version: ${rpcVersion} is not served by this agent (it serves up to ${own})`);
  return { version: overrides.agent_version || packageVersion(), rpcVersion };
}

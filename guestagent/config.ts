// The guest agent's own settings (guest_info.conf + trove-guestagent.conf as injected at boot).
import { z } from 'zod';
import { opt } from '../src/common/config/schema.js';
import { runtimeDirKey } from '../src/common/runtime-dir.js';
import { rpcVersion } from '../src/rpc/contracts/common.js';

export const guestDefaults = z.object({
  guest_id: z.string({ message: 'is required (the instance id)' }).min(1, { message: 'is required (the instance id)' }),
  datastore_manager: z.string({ message: 'is required (e.g. mariadb)' }).min(1),
  datastore_version: opt.str(''),
  tenant_id: opt.str(''),
  /** Seconds between heartbeats (Trove's report_interval). */
  report_interval: opt.int(30, 1, 3600),
  /** (trove-ts) Where the agent keeps its own files (secrets, engine state, logs). */
  state_dir: opt.str('/var/lib/trove-guestagent'),
  /** (trove-ts) The engine's unix sockets go to <runtime_dir>/<hash of state_dir>/ (src/common/runtime-dir.ts). */
  ...runtimeDirKey,
  log_level: opt.str('info'),
  /** (trove-ts) Where the data volume is mounted / which address the engine binds, for every
   * engine (the all-in-one compute driver sets these per instance). */
  data_mount_point: opt.optStr(),
  data_bind_host: opt.optStr(),
  /** (trove-ts, local volumes) A JSON file {"size": GB} holding the volume's size: the agent
   * measures the data directory against it and makes the engine read-only when it is full. */
  data_volume_file: opt.optStr(),
  data_volume_unit_mb: opt.int(1024, 1),
  /** (trove-ts) The version this agent reports and the guest RPC API version it serves; empty: its
   * package's and its code's. An older RPC version runs it as an N-1 agent (tests, staged rollouts). */
  agent_version: opt.str(''),
  agent_rpc_version: opt.str('').refine((v) => v === '' || rpcVersion.safeParse(v).success, 'expected an RPC version such as 1.1'),
  /** (trove-ts) Where the agent's installed code is (the image's /opt/trove-guestagent): upgrade_agent
   * replaces it with a downloaded package and restarts; empty: this agent is not upgraded by RPC
   * (the all-in-one restarts its agents on the installed code instead). */
  agent_install_dir: opt.str(''),
  /** This instance's RPC key (Trove's guest_info instance_rpc_encr_key); unset: plain messages. */
  instance_rpc_encr_key: opt.optStr(),
});

export type GuestConfig = z.output<typeof guestDefaults>;

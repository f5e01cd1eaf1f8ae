// The guest agent's own settings (guest_info.conf + trove-guestagent.conf as injected at boot).
import { z } from 'zod';
import { opt } from '../src/common/config/schema.js';
import { runtimeDirKey } from '../src/common/runtime-dir.js';

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
  /** This instance's RPC key (Trove's guest_info instance_rpc_encr_key); unset: plain messages. */
  instance_rpc_encr_key: opt.optStr(),
});

export type GuestConfig = z.output<typeof guestDefaults>;

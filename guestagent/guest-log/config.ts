// The guest's guest-log settings ([DEFAULT] of trove-guestagent.conf), with Trove's key names.
import { z } from 'zod';
import { opt } from '../../src/common/config/schema.js';

export const guestLogDefaults = z.object({
  /** The container published logs go to, in the caller's object store (Trove's key and default). */
  guest_log_container_name: opt.str('database_logs'),
  /** Largest object a publish writes, in bytes (Trove's key and default): a publish writes as many as the new part of the log needs. */
  guest_log_limit: opt.int(1_000_000, 4096, 1024 * 1024 * 1024),
});

export type GuestLogConfig = z.output<typeof guestLogDefaults>;

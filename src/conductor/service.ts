// A running conductor: serves the conductor topic with its handlers (process and tests).
import type { RawConfig } from '../common/config/reader.js';
import { configSection } from '../common/config/schema.js';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { databaseSection } from '../db/config.js';
import { databaseUnavailable, openDatabase, type Db } from '../db/connection.js';
import { encryptedKeysOf } from '../db/instances.js';
import { grouped } from '../common/grouped.js';
import { transportFromConfig, messagingDefaults } from '../rpc/config.js';
import { secureRpc } from '../rpc/secure.js';
import { RpcServer } from '../rpc/rpc.js';
import type { Transport } from '../rpc/transport.js';
import { CONDUCTOR_TOPIC, conductorContract } from '../rpc/contracts/conductor.js';
import { conductorHandlers } from './manager.js';
import { databaseCheck } from '../db/health.js';
import { busCheck } from '../rpc/health.js';
import { notifierFromConfig } from '../notifications/notifier.js';
import { EngineMetricsRecorder } from './engine-metrics.js';
import { instanceMetricsDefaults } from '../common/metrics/config.js';

/**
 * Guests' reports the conductor takes from the broker at once: its handlers are short writes, and
 * the heartbeats among them are written in groups (heartbeat.ts), which are as large as what is
 * at hand: with the transport's default (16) most of a group's time was spent waiting on the
 * database for a few heartbeats. Two conductors still share a backlog.
 */
const CONDUCTOR_PREFETCH = 256;

/** How many instances' keys the conductor keeps in memory. */
const KEYS_KEPT = 10_000;

/**
 * The stored RPC key of an instance, by its id. A row's key is written with the row and never
 * changed, so a key once read (or the absence of one on an existing row) is kept; an instance not
 * found is looked up again each time (it may be created meanwhile). The lookups of the messages
 * that arrive together are one query.
 */
export function instanceKeys(db: Db): (instanceId: string) => Promise<string | null | undefined> {
  const known = new Map<string, string | null>();
  const lookup = grouped(async (ids: string[]) => {
    const keys = await encryptedKeysOf(db, [...new Set(ids)]);
    return ids.map((id) => (keys.has(id) ? keys.get(id)! : undefined));
  });
  return async (id) => {
    if (known.has(id)) return known.get(id);
    const key = await lookup(id);
    if (key !== undefined) {
      known.set(id, key);
      if (known.size > KEYS_KEPT) known.delete(known.keys().next().value!);
    }
    return key;
  };
}

export async function startConductor(raw: RawConfig, log: Logger, options: { db?: Db; transport?: Transport } = {}) {
  const messaging = configSection(raw, 'DEFAULT', messagingDefaults);
  if (!messaging.transport_url && !options.transport) {
    throw new ConfigError('trove.conf [DEFAULT] transport_url: trove-conductor needs the bus (rabbit://...)');
  }
  const db = options.db ?? openDatabase(configSection(raw, 'database', databaseSection));
  const transport = options.transport ?? transportFromConfig(raw, log);
  const server = new RpcServer(transport, log);
  const secure = secureRpc(raw);
  const keyOf = instanceKeys(db);
  const notifier = notifierFromConfig(raw, log, { service: 'conductor', transport });
  const metrics = new EngineMetricsRecorder(db, log, { config: configSection(raw, 'DEFAULT', instanceMetricsDefaults), notifier });
  const handlers = conductorHandlers(db, log, { sealed: async (id) => secure.instanceKey(await keyOf(id)) !== null, notifier, metrics });
  await server.serve(CONDUCTOR_TOPIC, conductorContract, handlers, {
    serializer: secure.conductor(keyOf),
    // a guest's report the database could not take is put back, not lost
    redeliverWhen: databaseUnavailable,
    prefetch: CONDUCTOR_PREFETCH,
  });
  return {
    /** What its health check answers on: the control database and the bus. */
    health: [databaseCheck(db), busCheck(transport)],
    async stop() {
      await server.close();
      await notifier.close();
      if (!options.transport) await transport.close();
      if (!options.db) await db.destroy();
    },
  };
}

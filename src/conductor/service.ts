// A running conductor: serves the conductor topic with its handlers (process and tests).
import type { RawConfig } from '../common/config/reader.js';
import { configSection } from '../common/config/schema.js';
import { ConfigError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { databaseSection } from '../db/config.js';
import { databaseUnavailable, openDatabase, type Db } from '../db/connection.js';
import { transportFromConfig, messagingDefaults } from '../rpc/config.js';
import { secureRpc } from '../rpc/secure.js';
import { RpcServer } from '../rpc/rpc.js';
import type { Transport } from '../rpc/transport.js';
import { CONDUCTOR_TOPIC, conductorContract } from '../rpc/contracts/conductor.js';
import { conductorHandlers } from './manager.js';

export async function startConductor(raw: RawConfig, log: Logger, options: { db?: Db; transport?: Transport } = {}) {
  const messaging = configSection(raw, 'DEFAULT', messagingDefaults);
  if (!messaging.transport_url && !options.transport) {
    throw new ConfigError('trove.conf [DEFAULT] transport_url: trove-conductor needs the bus (rabbit://...)');
  }
  const db = options.db ?? openDatabase(configSection(raw, 'database', databaseSection));
  const transport = options.transport ?? transportFromConfig(raw, log);
  const server = new RpcServer(transport, log);
  const secure = secureRpc(raw);
  const keyOf = async (id: string) => (await db('instances').where({ id }).first('encrypted_key'))?.encrypted_key as string | null | undefined;
  await server.serve(CONDUCTOR_TOPIC, conductorContract, conductorHandlers(db, log, { sealed: async (id) => secure.instanceKey(await keyOf(id)) !== null }), {
    serializer: secure.conductor(keyOf),
    // a guest's report the database could not take is put back, not lost
    redeliverWhen: databaseUnavailable,
  });
  return {
    async stop() {
      await server.close();
      if (!options.transport) await transport.close();
      if (!options.db) await db.destroy();
    },
  };
}

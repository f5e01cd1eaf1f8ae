// trove-ts extension: the version of the guest agent each instance runs, as its heartbeats report
// it: agent_version (its package's version) and agent_rpc_version (the guest RPC API version it
// serves; the control plane sends it no verb newer than that). NULL: an agent from before agents
// reported it (it speaks RPC 1.1), or no heartbeat yet.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('service_statuses', (t) => {
    t.string('agent_version', 100).nullable();
    t.string('agent_rpc_version', 16).nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error('db_downgrade is not supported (as in Trove)');
}

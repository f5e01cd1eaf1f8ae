// backups.size holds GB as a fraction (a 300 KB backup is 0.000286 GB); knex's float() made it
// FLOAT(8,2) on MySQL, which rounds small backups to 0. A double keeps what the guest measured.
import type { Knex } from 'knex';
import { isSqlite } from '../src/db/dialect.js';

export async function up(knex: Knex): Promise<void> {
  if (isSqlite(knex)) return; // SQLite's REAL is a double already
  await knex.schema.alterTable('backups', (t) => {
    t.double('size').nullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  if (isSqlite(knex)) return;
  await knex.schema.alterTable('backups', (t) => {
    t.float('size').nullable().alter();
  });
}

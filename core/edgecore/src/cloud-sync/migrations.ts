/**
 * The edge's cloud-sync database's (`cloud-sync.db`) schema, as migrations (see
 * ../sqlite/migrate.ts). Append a migration to change it; never edit one that was released.
 */
import type { SchemaMigration } from '@edgetwin/device-twin/sqlite';

export const CLOUD_SYNC_MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    description: '0.1.0: meta, resources, outbox',
    up(db) {
      db.exec(`
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (key TEXT PRIMARY KEY, rv TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, entry TEXT NOT NULL);
`);
    },
  },
];

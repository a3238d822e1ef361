/**
 * cloudcore's database's (`cloudcore.db`) schema, as migrations (`migrateSchema` from
 * `@edgetwin/device-twin/sqlite`). Append a migration to change it; never edit a released one.
 */
import type { SchemaMigration } from '@edgetwin/device-twin/sqlite';

export const CLOUD_STATE_MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    description: '0.1.0: join_tokens, nodes',
    up(db) {
      db.exec(`
CREATE TABLE IF NOT EXISTS join_tokens (hash BLOB PRIMARY KEY, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
  name TEXT PRIMARY KEY, token_hash BLOB NOT NULL, joined_at INTEGER NOT NULL,
  connected INTEGER NOT NULL DEFAULT 0, last_heartbeat INTEGER, devices INTEGER NOT NULL DEFAULT 0, address TEXT);
`);
    },
  },
];

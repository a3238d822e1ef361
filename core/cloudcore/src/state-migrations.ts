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
  {
    version: 2,
    description: 'join tokens single use, bound to a node, revocable, with a public id; node_certs',
    up(db) {
      // 0.1.0 tokens (reusable under any node name) are kept, with an id made from their hash;
      // from now on they follow the new rules: one new node, once.
      db.exec(`
CREATE TABLE join_tokens_v2 (
  id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, node TEXT, replace INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER, used_by TEXT, revoked_at INTEGER);
INSERT INTO join_tokens_v2 (id, hash, created_at, expires_at)
  SELECT lower(substr(hex(hash), 1, 12)), hash, created_at, expires_at FROM join_tokens;
DROP TABLE join_tokens;
ALTER TABLE join_tokens_v2 RENAME TO join_tokens;
CREATE TABLE node_certs (serial TEXT PRIMARY KEY, node TEXT NOT NULL, not_after INTEGER NOT NULL);
`);
    },
  },
];

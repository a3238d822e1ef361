/**
 * The pod agent's database's (`agent.db`) schema, as migrations (`migrateSchema` from
 * `@edgetwin/device-twin/sqlite`). Append a migration to change it; never edit a released one.
 */
import type { SchemaMigration } from '@edgetwin/device-twin/sqlite';

export const AGENT_MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    description: '0.1.0: pods, containers, config_maps',
    up(db) {
      db.exec(`
CREATE TABLE IF NOT EXISTS pods (
  key TEXT PRIMARY KEY, source TEXT NOT NULL, runtime TEXT NOT NULL, manifest TEXT NOT NULL,
  spec_hash TEXT NOT NULL, sandbox_id TEXT, deleting_grace_ms INTEGER, status TEXT
);
CREATE TABLE IF NOT EXISTS containers (
  pod_key TEXT NOT NULL, name TEXT NOT NULL, container_id TEXT, restart_count INTEGER NOT NULL DEFAULT 0,
  log_path TEXT, last_terminated TEXT, PRIMARY KEY (pod_key, name)
);
CREATE TABLE IF NOT EXISTS config_maps (key TEXT PRIMARY KEY, data TEXT NOT NULL);
`);
    },
  },
];

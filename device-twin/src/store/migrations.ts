/**
 * The twin database's (`edgetwin.db`) schema, as migrations (see ../sqlite/migrate.ts). Append a
 * migration to change it; never edit one that was released. Version 1 is the 0.1.0 schema.
 */
import type { SchemaMigration } from '../sqlite/migrate.js';

export const TWIN_MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    description: '0.1.0: resources, twin_meta, twin_desired, twin_reported, twin_spec',
    up(db) {
      db.exec(`
CREATE TABLE IF NOT EXISTS resources (kind TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS twin_meta (id TEXT PRIMARY KEY, desired_version INTEGER NOT NULL, reported_version INTEGER NOT NULL,
  state TEXT NOT NULL, last_online INTEGER, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS twin_desired (id TEXT NOT NULL, prop TEXT NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, source TEXT NOT NULL, PRIMARY KEY (id, prop));
CREATE TABLE IF NOT EXISTS twin_reported (id TEXT NOT NULL, prop TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  source_time INTEGER, quality TEXT, PRIMARY KEY (id, prop));
CREATE TABLE IF NOT EXISTS twin_spec (id TEXT NOT NULL, prop TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (id, prop));
`);
    },
  },
  {
    version: 2,
    description: 'write status of each desired value (JSON WriteState: pending, applied, failed with code and reason)',
    up(db) {
      db.exec('ALTER TABLE twin_desired ADD COLUMN write TEXT');
    },
  },
  {
    version: 3,
    description:
      'twins a `$hw` twin/update added for keys the model does not have (KubeEdge adds them), with their type',
    up(db) {
      db.exec(
        'CREATE TABLE IF NOT EXISTS twin_adhoc (id TEXT NOT NULL, prop TEXT NOT NULL, type TEXT NOT NULL, PRIMARY KEY (id, prop))',
      );
    },
  },
];

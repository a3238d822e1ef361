/**
 * Schema migrations for EdgeTwin's SQLite files. Each store lists its migrations in order
 * (version 1, 2, 3, ...); `migrateSchema` applies the ones a file has not seen yet, each in its
 * own IMMEDIATE transaction together with its row in `schema_migrations`, so a crash mid-upgrade
 * leaves the file at the last complete version and the next start carries on. A file written by
 * a newer release (a version this code does not know) is refused instead of being misread.
 *
 * Version 1 of every store is the schema the 0.1.0 release created with `CREATE TABLE IF NOT
 * EXISTS`; a file from that release has no `schema_migrations` table, so version 1 runs on it as
 * a no-op and stamps it. To change a schema, append a migration; never edit a released one.
 */
import type Database from 'better-sqlite3';
import { EdgeTwinError } from '@edgetwin/sdk';

export interface SchemaMigration {
  /** 1, 2, 3, ... in order, no gaps. */
  version: number;
  /** What it changes, stored with the version (`SELECT * FROM schema_migrations`). */
  description: string;
  /** Runs inside the migration's transaction; throw to roll it back. */
  up(db: Database.Database): void;
}

export interface SchemaStatus {
  /** The version the file had before (0 = a file from before versioning, or a new file). */
  from: number;
  /** The version it has now: the newest migration's. */
  to: number;
}

const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)`;

/** The version recorded in `db` (0 when it has no version table). */
export function schemaVersion(db: Database.Database): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!table) return 0;
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Brings `db` (a store called `store`, for messages; `file` is its path) to the newest version
 * in `migrations`. Throws EdgeTwinError `ET_DATA_VERSION` when the file is newer than this code.
 */
export function migrateSchema(
  db: Database.Database,
  opts: { store: string; file: string; migrations: readonly SchemaMigration[]; now?: () => number },
): SchemaStatus {
  const { store, file, migrations } = opts;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${store}: migration ${i} has version ${m.version}, expected ${i + 1}`);
  });
  const latest = migrations.length;
  const from = schemaVersion(db);
  checkNotNewer(from, latest, store, file);
  for (const m of migrations) {
    if (m.version <= from) continue;
    db.transaction(() => {
      db.exec(VERSION_TABLE);
      // Another process may have migrated the file meanwhile: re-read inside the write lock.
      const current = schemaVersion(db);
      checkNotNewer(current, latest, store, file);
      if (current >= m.version) return;
      m.up(db);
      db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.description,
        (opts.now ?? Date.now)(),
      );
    }).immediate();
  }
  db.pragma(`user_version = ${latest}`);
  return { from, to: latest };
}

/** For read-only openers (a CLI reading a daemon's file): refuses a file newer than this code. */
export function checkSchemaReadable(
  db: Database.Database,
  opts: { store: string; file: string; migrations: readonly SchemaMigration[] },
): number {
  const v = schemaVersion(db);
  checkNotNewer(v, opts.migrations.length, opts.store, opts.file);
  return v;
}

function checkNotNewer(version: number, latest: number, store: string, file: string): void {
  if (version <= latest) return;
  throw new EdgeTwinError(
    'ET_DATA_VERSION',
    `${file} (${store}) has schema version ${version}, but this EdgeTwin knows versions up to ${latest}: it was ` +
      'written by a newer release. Run that release (or newer), or restore a backup taken before the upgrade.',
    { details: { file, store, version, latest } },
  );
}

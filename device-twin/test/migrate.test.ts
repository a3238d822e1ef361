/**
 * Schema migrations: a file is brought to the newest version once, step by step, each step in its
 * own transaction; a file from a newer release is refused with ET_DATA_VERSION.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import { openTwinStore } from '@edgetwin/device-twin';
import { migrateSchema, schemaVersion, type SchemaMigration } from '@edgetwin/device-twin/sqlite';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-migrate-'));
  dirs.push(dir);
  return join(dir, 'x.db');
}

const v1: SchemaMigration = {
  version: 1,
  description: 'notes',
  up: (db) => db.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)'),
};
const v2: SchemaMigration = {
  version: 2,
  description: 'notes.author',
  up: (db) => db.exec("ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'edge'"),
};

describe('schema migrations', () => {
  it('a new file gets every migration and records each one', () => {
    const db = new Database(tempFile());
    expect(migrateSchema(db, { store: 'notes', file: 'x.db', migrations: [v1, v2] })).toEqual({ from: 0, to: 2 });
    db.prepare("INSERT INTO notes (text) VALUES ('hello')").run();
    expect(db.prepare('SELECT text, author FROM notes').get()).toEqual({ text: 'hello', author: 'edge' });
    const rows = db.prepare('SELECT version, description FROM schema_migrations ORDER BY version').all();
    expect(rows).toEqual([
      { version: 1, description: 'notes' },
      { version: 2, description: 'notes.author' },
    ]);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.close();
  });

  it('a file from before versioning keeps its rows and only gets the newer steps', () => {
    const file = tempFile();
    const old = new Database(file);
    old.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    old.prepare("INSERT INTO notes (text) VALUES ('kept')").run();
    old.close();
    const db = new Database(file);
    expect(migrateSchema(db, { store: 'notes', file, migrations: [v1, v2] })).toEqual({ from: 0, to: 2 });
    expect(db.prepare('SELECT text, author FROM notes').all()).toEqual([{ text: 'kept', author: 'edge' }]);
    // opening again changes nothing
    expect(migrateSchema(db, { store: 'notes', file, migrations: [v1, v2] })).toEqual({ from: 2, to: 2 });
    db.close();
  });

  it('a failing step is rolled back and the file stays at the last complete version', () => {
    const file = tempFile();
    const db = new Database(file);
    migrateSchema(db, { store: 'notes', file, migrations: [v1] });
    const broken: SchemaMigration = {
      version: 2,
      description: 'half done',
      up: (d) => {
        d.exec('ALTER TABLE notes ADD COLUMN author TEXT');
        throw new Error('disk full');
      },
    };
    expect(() => migrateSchema(db, { store: 'notes', file, migrations: [v1, broken] })).toThrow('disk full');
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare('SELECT name FROM pragma_table_info(?)').all('notes')).toEqual([
      { name: 'id' },
      { name: 'text' },
    ]);
    // the fixed release carries on from version 1
    expect(migrateSchema(db, { store: 'notes', file, migrations: [v1, v2] })).toEqual({ from: 1, to: 2 });
    db.close();
  });

  it('a file written by a newer release is refused with ET_DATA_VERSION and left untouched', () => {
    const file = tempFile();
    const db = new Database(file);
    migrateSchema(db, { store: 'notes', file, migrations: [v1, v2] });
    let err: unknown;
    try {
      migrateSchema(db, { store: 'notes', file, migrations: [v1] });
    } catch (e) {
      err = e;
    }
    expect(isEdgeTwinError(err) && err.code).toBe('ET_DATA_VERSION');
    expect((err as Error).message).toMatch(/schema version 2, but this EdgeTwin knows versions up to 1.*newer release/);
    expect(schemaVersion(db)).toBe(2);
    db.close();
  });

  it('the twin store refuses a twin database from a newer release instead of misreading it', () => {
    const file = tempFile();
    openTwinStore({ file }).close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'future', 0)").run();
    db.close();
    expect(() => openTwinStore({ file })).toThrow(/schema version 99/);
  });
});

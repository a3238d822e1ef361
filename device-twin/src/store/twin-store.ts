/**
 * The twin's SQLite store (better-sqlite3, WAL, synchronous=NORMAL): resources (models and
 * devices as applied), per-device twin metadata, desired and reported entries, and the last
 * applied spec desired value of each property, and the twins a `$hw` twin/update added for keys the
 * model does not have. Writes happen inside `transaction()`; TwinService
 * groups many updates into one transaction. The schema is in ./migrations.ts.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensurePrivateFile } from '@edgetwin/sdk/util';
import {
  EdgeTwinError,
  type Device,
  type DeviceModel,
  type PropertyType,
  type TwinValue,
  type WriteState,
} from '@edgetwin/sdk';
import type { DesiredEntry, DesiredSource, DeviceState, ReportedEntry } from '../types.js';
import { migrateSchema } from '../sqlite/migrate.js';
import { TWIN_MIGRATIONS } from './migrations.js';

export interface PersistedMeta {
  desiredVersion: number;
  reportedVersion: number;
  state: DeviceState;
  lastOnline: number | undefined;
  seq: number;
}

export interface PersistedTwin {
  id: string;
  meta: PersistedMeta;
  desired: Map<string, DesiredEntry>;
  reported: Map<string, ReportedEntry>;
  specDesired: Map<string, TwinValue>;
  /** Twins added by a `$hw` twin/update for keys the model does not have, with their type. */
  adhoc: Map<string, PropertyType>;
}

export interface PersistedState {
  models: DeviceModel[];
  devices: Device[];
  twins: Map<string, PersistedTwin>;
}

export interface TwinStore {
  readonly file: string;
  loadAll(): PersistedState;
  /** Runs `fn` in one IMMEDIATE transaction; rolls back when it throws. */
  transaction<T>(fn: () => T): T;
  replaceResources(models: readonly DeviceModel[], devices: readonly Device[]): void;
  putMeta(id: string, meta: PersistedMeta): void;
  putDesired(id: string, property: string, entry: DesiredEntry): void;
  deleteDesired(id: string, property: string): void;
  putReported(id: string, property: string, entry: ReportedEntry): void;
  deleteReported(id: string, property: string): void;
  putSpecDesired(id: string, property: string, value: TwinValue | undefined): void;
  /** Records a twin added for a key the model does not have. */
  putAdhoc(id: string, property: string, type: PropertyType): void;
  /** Removes a device's twin rows (metadata, desired, reported, spec desired). */
  deleteTwin(id: string): void;
  close(): void;
}

interface MetaRow {
  id: string;
  desired_version: number;
  reported_version: number;
  state: string;
  last_online: number | null;
  seq: number;
}
interface DesiredRow {
  id: string;
  prop: string;
  value: string;
  version: number;
  updated_at: number;
  source: string;
  /** The write status as JSON (WriteState), null before it was known. */
  write: string | null;
}
interface ReportedRow {
  id: string;
  prop: string;
  value: string;
  updated_at: number;
  source_time: number | null;
  quality: string | null;
}
interface SpecRow {
  id: string;
  prop: string;
  value: string;
}

/** Opens (creating when needed) the twin database at `file`; `:memory:` works for tests. */
export function openTwinStore(opts: { file: string }): TwinStore {
  if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
  let db: Database.Database | undefined;
  try {
    ensurePrivateFile(opts.file); // 0600: every device's spec and reading is in it
    db = new Database(opts.file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrateSchema(db, { store: 'twin store', file: opts.file, migrations: TWIN_MIGRATIONS });
  } catch (err) {
    db?.close();
    if (err instanceof EdgeTwinError) throw err;
    throw new EdgeTwinError(
      'ET_UNAVAILABLE',
      `cannot open the twin database ${opts.file}: ${(err as Error).message}; check the path and its permissions`,
      { cause: err, details: { file: opts.file } },
    );
  }
  const s = {
    delResources: db.prepare('DELETE FROM resources'),
    putResource: db.prepare('INSERT INTO resources (kind, id, json) VALUES (?, ?, ?)'),
    putMeta: db.prepare(
      `INSERT INTO twin_meta (id, desired_version, reported_version, state, last_online, seq) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET desired_version = excluded.desired_version, reported_version = excluded.reported_version,
       state = excluded.state, last_online = excluded.last_online, seq = excluded.seq`,
    ),
    putDesired: db.prepare(
      `INSERT INTO twin_desired (id, prop, value, version, updated_at, source, write) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id, prop) DO UPDATE SET value = excluded.value, version = excluded.version,
       updated_at = excluded.updated_at, source = excluded.source, write = excluded.write`,
    ),
    delDesired: db.prepare('DELETE FROM twin_desired WHERE id = ? AND prop = ?'),
    putReported: db.prepare(
      `INSERT INTO twin_reported (id, prop, value, updated_at, source_time, quality) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id, prop) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
       source_time = excluded.source_time, quality = excluded.quality`,
    ),
    delReported: db.prepare('DELETE FROM twin_reported WHERE id = ? AND prop = ?'),
    putSpec: db.prepare(
      'INSERT INTO twin_spec (id, prop, value) VALUES (?, ?, ?) ON CONFLICT (id, prop) DO UPDATE SET value = excluded.value',
    ),
    delSpec: db.prepare('DELETE FROM twin_spec WHERE id = ? AND prop = ?'),
    putAdhoc: db.prepare('INSERT OR REPLACE INTO twin_adhoc (id, prop, type) VALUES (?, ?, ?)'),
    delTwin: [
      db.prepare('DELETE FROM twin_meta WHERE id = ?'),
      db.prepare('DELETE FROM twin_desired WHERE id = ?'),
      db.prepare('DELETE FROM twin_reported WHERE id = ?'),
      db.prepare('DELETE FROM twin_spec WHERE id = ?'),
      db.prepare('DELETE FROM twin_adhoc WHERE id = ?'),
    ],
  };

  return {
    file: opts.file,
    loadAll() {
      const models: DeviceModel[] = [];
      const devices: Device[] = [];
      for (const r of db.prepare('SELECT kind, json FROM resources ORDER BY id').all() as {
        kind: string;
        json: string;
      }[]) {
        if (r.kind === 'DeviceModel') models.push(JSON.parse(r.json) as DeviceModel);
        else devices.push(JSON.parse(r.json) as Device);
      }
      const twins = new Map<string, PersistedTwin>();
      const twin = (id: string): PersistedTwin => {
        let t = twins.get(id);
        if (!t) {
          t = {
            id,
            meta: { desiredVersion: 0, reportedVersion: 0, state: 'unknown', lastOnline: undefined, seq: 0 },
            desired: new Map(),
            reported: new Map(),
            specDesired: new Map(),
            adhoc: new Map(),
          };
          twins.set(id, t);
        }
        return t;
      };
      for (const r of db.prepare('SELECT * FROM twin_meta').all() as MetaRow[]) {
        twin(r.id).meta = {
          desiredVersion: r.desired_version,
          reportedVersion: r.reported_version,
          state: r.state as DeviceState,
          lastOnline: r.last_online ?? undefined,
          seq: r.seq,
        };
      }
      for (const r of db.prepare('SELECT * FROM twin_desired').all() as DesiredRow[]) {
        const e: DesiredEntry = {
          value: JSON.parse(r.value) as TwinValue,
          version: r.version,
          updatedAt: r.updated_at,
          source: r.source as DesiredSource,
        };
        if (r.write !== null) e.write = JSON.parse(r.write) as WriteState;
        twin(r.id).desired.set(r.prop, e);
      }
      for (const r of db.prepare('SELECT * FROM twin_reported').all() as ReportedRow[]) {
        const e: ReportedEntry = { value: JSON.parse(r.value) as TwinValue, updatedAt: r.updated_at };
        if (r.source_time !== null) e.sourceTime = r.source_time;
        if (r.quality !== null) e.quality = r.quality;
        twin(r.id).reported.set(r.prop, e);
      }
      for (const r of db.prepare('SELECT * FROM twin_spec').all() as SpecRow[]) {
        twin(r.id).specDesired.set(r.prop, JSON.parse(r.value) as TwinValue);
      }
      for (const r of db.prepare('SELECT * FROM twin_adhoc').all() as { id: string; prop: string; type: string }[]) {
        twin(r.id).adhoc.set(r.prop, r.type as PropertyType);
      }
      return { models, devices, twins };
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
    replaceResources(models, devices) {
      s.delResources.run();
      for (const m of models)
        s.putResource.run('DeviceModel', `${m.metadata.namespace ?? 'default'}/${m.metadata.name}`, JSON.stringify(m));
      for (const d of devices)
        s.putResource.run('Device', `${d.metadata.namespace ?? 'default'}/${d.metadata.name}`, JSON.stringify(d));
    },
    putMeta(id, m) {
      s.putMeta.run(id, m.desiredVersion, m.reportedVersion, m.state, m.lastOnline ?? null, m.seq);
    },
    putDesired(id, prop, e) {
      s.putDesired.run(
        id,
        prop,
        JSON.stringify(e.value),
        e.version,
        e.updatedAt,
        e.source,
        e.write ? JSON.stringify(e.write) : null,
      );
    },
    deleteDesired(id, prop) {
      s.delDesired.run(id, prop);
    },
    putReported(id, prop, e) {
      s.putReported.run(id, prop, JSON.stringify(e.value), e.updatedAt, e.sourceTime ?? null, e.quality ?? null);
    },
    deleteReported(id, prop) {
      s.delReported.run(id, prop);
    },
    putSpecDesired(id, prop, value) {
      if (value === undefined) s.delSpec.run(id, prop);
      else s.putSpec.run(id, prop, JSON.stringify(value));
    },
    putAdhoc(id, prop, type) {
      s.putAdhoc.run(id, prop, type);
    },
    deleteTwin(id) {
      for (const st of s.delTwin) st.run(id);
    },
    close() {
      if (db.open) db.close();
    },
  };
}

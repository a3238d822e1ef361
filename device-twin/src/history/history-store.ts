/**
 * The history of reported values in SQLite (a `history.db` next to the twin's database, so its
 * writes never hold the twin's write lock). Values are kept as buckets (min, max, sum, count,
 * last): fine buckets (default 10 s) for a recent window (default 1 h), coarse buckets (default
 * 1 min) beyond it up to the retention (default 24 h). Rows per series are therefore bounded by
 * window / fine + retention / coarse whatever the report rate. Desired changes, state changes
 * and write outcomes are kept as events for the same retention, at most `maxEvents` of them.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgeTwinError } from '@edgetwin/sdk';
import { ensurePrivateFile } from '@edgetwin/sdk/util';
import { migrateSchema, type SchemaMigration } from '../sqlite/migrate.js';

export interface Bucket {
  /** Start of the bucket, ms since epoch. */
  t: number;
  min: number;
  max: number;
  sum: number;
  n: number;
  last: number;
}

export interface HistoryEvent {
  device: string;
  property: string;
  t: number;
  kind: 'desired' | 'state' | 'write';
  /** JSON of what happened (value and source, state, write outcome). */
  detail: Record<string, unknown>;
}

export interface HistoryLayout {
  fineMs: number;
  windowMs: number;
  coarseMs: number;
  retentionMs: number;
  maxEvents: number;
}

export const DEFAULT_HISTORY_LAYOUT: HistoryLayout = {
  fineMs: 10_000,
  windowMs: 3_600_000,
  coarseMs: 60_000,
  retentionMs: 86_400_000,
  maxEvents: 10_000,
};

/** history.db's schema as migrations (see ../sqlite/migrate.ts): append one to change it. */
export const HISTORY_MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    description: 'series, fine and coarse buckets, events',
    up(db) {
      db.exec(SCHEMA);
    },
  },
];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, device TEXT NOT NULL, prop TEXT NOT NULL, UNIQUE (device, prop));
CREATE TABLE IF NOT EXISTS fine (series INTEGER NOT NULL, t INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
  sum REAL NOT NULL, n INTEGER NOT NULL, last REAL NOT NULL, PRIMARY KEY (series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS coarse (series INTEGER NOT NULL, t INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
  sum REAL NOT NULL, n INTEGER NOT NULL, last REAL NOT NULL, PRIMARY KEY (series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, device TEXT NOT NULL, prop TEXT NOT NULL, t INTEGER NOT NULL,
  kind TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_device ON events (device, t);
`;

/** Merges a bucket into the stored one of the same (series, t); `last` is the later bucket's. */
const UPSERT = (table: string) =>
  `INSERT INTO ${table} (series, t, min, max, sum, n, last) VALUES (?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (series, t) DO UPDATE SET min = min(min, excluded.min), max = max(max, excluded.max),
   sum = sum + excluded.sum, n = n + excluded.n, last = excluded.last`;

interface Row extends Bucket {
  series: number;
}

export class HistoryStore {
  readonly layout: HistoryLayout;
  private readonly db: Database.Database;
  private readonly seriesIds = new Map<string, number>();
  private readonly s;

  constructor(opts: { file: string; layout?: Partial<HistoryLayout> }) {
    this.layout = { ...DEFAULT_HISTORY_LAYOUT, ...opts.layout };
    let db: Database.Database | undefined;
    try {
      if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
      ensurePrivateFile(opts.file); // 0600: every reading is in it
      db = new Database(opts.file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrateSchema(db, { store: 'history store', file: opts.file, migrations: HISTORY_MIGRATIONS });
    } catch (err) {
      db?.close();
      if (err instanceof EdgeTwinError) throw err;
      throw new EdgeTwinError(
        'ET_UNAVAILABLE',
        `cannot open the history database ${opts.file}: ${(err as Error).message}; check the path and its permissions`,
        { cause: err, details: { file: opts.file } },
      );
    }
    this.db = db;
    this.s = {
      findSeries: db.prepare<[string, string], { id: number }>('SELECT id FROM series WHERE device = ? AND prop = ?'),
      addSeries: db.prepare<[string, string]>('INSERT INTO series (device, prop) VALUES (?, ?)'),
      upsertFine: db.prepare(UPSERT('fine')),
      upsertCoarse: db.prepare(UPSERT('coarse')),
      oldFine: db.prepare<[number], Row>('SELECT * FROM fine WHERE t < ? ORDER BY series, t'),
      dropFine: db.prepare<[number]>('DELETE FROM fine WHERE t < ?'),
      dropCoarse: db.prepare<[number]>('DELETE FROM coarse WHERE t < ?'),
      range: db.prepare<[number, number, number, number, number, number], Bucket>(
        `SELECT t, min, max, sum, n, last FROM coarse WHERE series = ? AND t >= ? AND t < ?
         UNION ALL SELECT t, min, max, sum, n, last FROM fine WHERE series = ? AND t >= ? AND t < ? ORDER BY t`,
      ),
      addEvent: db.prepare<[string, string, number, string, string]>(
        'INSERT INTO events (device, prop, t, kind, detail) VALUES (?, ?, ?, ?, ?)',
      ),
      events: db.prepare<[string, number, number], { prop: string; t: number; kind: string; detail: string }>(
        'SELECT prop, t, kind, detail FROM events WHERE device = ? AND t >= ? AND t < ? ORDER BY t, id',
      ),
      dropEvents: db.prepare<[number]>('DELETE FROM events WHERE t < ?'),
      trimEvents: db.prepare<[number]>('DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?'),
      counts: db.prepare<[], { fine: number; coarse: number; events: number }>(
        `SELECT (SELECT count(*) FROM fine) AS fine, (SELECT count(*) FROM coarse) AS coarse,
         (SELECT count(*) FROM events) AS events`,
      ),
    };
  }

  private seriesId(device: string, prop: string, create: boolean): number | undefined {
    const key = `${device}\0${prop}`;
    let id = this.seriesIds.get(key);
    if (id !== undefined) return id;
    id = this.s.findSeries.get(device, prop)?.id;
    if (id === undefined && create) id = Number(this.s.addSeries.run(device, prop).lastInsertRowid);
    if (id !== undefined) this.seriesIds.set(key, id);
    return id;
  }

  /** Writes fine buckets and events in one transaction (buckets merge with stored ones). */
  write(buckets: readonly { device: string; prop: string; bucket: Bucket }[], events: readonly HistoryEvent[]): void {
    this.db
      .transaction(() => {
        for (const { device, prop, bucket: b } of buckets) {
          this.s.upsertFine.run(this.seriesId(device, prop, true), b.t, b.min, b.max, b.sum, b.n, b.last);
        }
        for (const e of events) this.s.addEvent.run(e.device, e.property, e.t, e.kind, JSON.stringify(e.detail));
      })
      .immediate();
  }

  /**
   * Moves fine buckets older than the window into coarse buckets and deletes what is older than
   * the retention; at most `maxEvents` events are kept.
   */
  compact(now: number): void {
    const { windowMs, coarseMs, retentionMs, maxEvents } = this.layout;
    const cutoff = Math.floor((now - windowMs) / coarseMs) * coarseMs;
    this.db
      .transaction(() => {
        let acc: Row | undefined;
        const put = (r: Row) => this.s.upsertCoarse.run(r.series, r.t, r.min, r.max, r.sum, r.n, r.last);
        for (const r of this.s.oldFine.all(cutoff)) {
          const t = Math.floor(r.t / coarseMs) * coarseMs;
          if (acc && acc.series === r.series && acc.t === t) {
            acc.min = Math.min(acc.min, r.min);
            acc.max = Math.max(acc.max, r.max);
            acc.sum += r.sum;
            acc.n += r.n;
            acc.last = r.last;
          } else {
            if (acc) put(acc);
            acc = { ...r, t };
          }
        }
        if (acc) put(acc);
        this.s.dropFine.run(cutoff);
        this.s.dropCoarse.run(now - retentionMs);
        this.s.dropEvents.run(now - retentionMs);
        this.s.trimEvents.run(maxEvents);
      })
      .immediate();
  }

  /** The stored buckets of a property in [from, to), oldest first. */
  buckets(device: string, prop: string, from: number, to: number): Bucket[] {
    const id = this.seriesId(device, prop, false);
    if (id === undefined) return [];
    return this.s.range.all(id, from, to, id, from, to);
  }

  events(device: string, from: number, to: number): HistoryEvent[] {
    return this.s.events.all(device, from, to).map((r) => ({
      device,
      property: r.prop,
      t: r.t,
      kind: r.kind as HistoryEvent['kind'],
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }

  /** Rows stored, and the database's size in bytes (pages in use times the page size). */
  stats(): { fine: number; coarse: number; events: number; bytes: number } {
    const c = this.s.counts.get()!;
    const pages =
      (this.db.pragma('page_count', { simple: true }) as number) -
      (this.db.pragma('freelist_count', { simple: true }) as number);
    return { ...c, bytes: pages * (this.db.pragma('page_size', { simple: true }) as number) };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * The edge's cloud-sync state in SQLite (`cloud-sync.db` in the edge data dir, mode 0600 because
 * it holds a secret): the node token issued at a plain-http join, the resources received from the cloud with their resourceVersions, and the
 * outbox of upstream changes not yet confirmed by the cloud. Every write is committed before the
 * edge acknowledges or forgets anything.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OutboxEntry, ResourceKey } from '@edgetwin/cloud-link';
import { ensurePrivateFile } from '@edgetwin/sdk/util';
import { migrateSchema } from '@edgetwin/device-twin/sqlite';
import { CLOUD_SYNC_MIGRATIONS } from './migrations.js';

export interface StoredResource {
  key: ResourceKey;
  resourceVersion: string;
  object: unknown;
}

export class CloudSyncStore {
  private readonly db: Database.Database;
  private seq: number;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Created (or tightened) 0600 before SQLite opens it; SQLite gives -wal and -shm the same mode.
    const file = join(dataDir, 'cloud-sync.db');
    ensurePrivateFile(file);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    migrateSchema(this.db, { store: 'cloud-sync store', file, migrations: CLOUD_SYNC_MIGRATIONS });
    this.seq = Number(this.getMeta('seq') ?? '0');
  }

  getMeta(k: string): string | undefined {
    const row = this.db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as { v: string } | undefined;
    return row?.v;
  }

  setMeta(k: string, v: string): void {
    this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v').run(k, v);
  }

  resources(): StoredResource[] {
    const rows = this.db.prepare('SELECT key, rv, json FROM resources').all() as Array<{
      key: string;
      rv: string;
      json: string;
    }>;
    return rows.map((r) => ({ key: r.key, resourceVersion: r.rv, object: JSON.parse(r.json) as unknown }));
  }

  /** Stores and drops resources in one transaction. */
  applySync(upserts: StoredResource[], deletes: ResourceKey[]): void {
    const put = this.db.prepare(
      'INSERT INTO resources (key, rv, json) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET rv = excluded.rv, json = excluded.json',
    );
    const del = this.db.prepare('DELETE FROM resources WHERE key = ?');
    this.db.transaction(() => {
      for (const u of upserts) put.run(u.key, u.resourceVersion, JSON.stringify(u.object));
      for (const k of deletes) del.run(k);
    })();
  }

  /** Puts the latest entry for `key` (coalescing) and returns its sequence number. */
  putOutbox(items: Array<{ key: string; entry: OutboxEntry }>): void {
    const put = this.db.prepare(
      'INSERT INTO outbox (key, seq, entry) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET seq = excluded.seq, entry = excluded.entry',
    );
    this.db.transaction(() => {
      for (const it of items) put.run(it.key, ++this.seq, JSON.stringify(it.entry));
      this.setMeta('seq', String(this.seq));
    })();
  }

  outbox(limit = 100_000): Array<{ key: string; seq: number; entry: OutboxEntry }> {
    const rows = this.db.prepare('SELECT key, seq, entry FROM outbox ORDER BY seq LIMIT ?').all(limit) as Array<{
      key: string;
      seq: number;
      entry: string;
    }>;
    return rows.map((r) => ({ key: r.key, seq: r.seq, entry: JSON.parse(r.entry) as OutboxEntry }));
  }

  outboxSize(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  }

  /** Removes confirmed entries, unless a newer value replaced them meanwhile. */
  confirm(done: Array<{ key: string; seq: number }>): void {
    const del = this.db.prepare('DELETE FROM outbox WHERE key = ? AND seq = ?');
    this.db.transaction(() => {
      for (const d of done) del.run(d.key, d.seq);
    })();
  }

  dropOutbox(keys: string[]): void {
    const del = this.db.prepare('DELETE FROM outbox WHERE key = ?');
    this.db.transaction(() => {
      for (const k of keys) del.run(k);
    })();
  }

  close(): void {
    this.db.close();
  }
}

/**
 * cloudcore's own state in SQLite (`cloudcore.db` in its data dir), because the CRD-only setup
 * has no core API for Secrets or Nodes: join tokens and node tokens (both stored as SHA-256
 * hashes, never in clear), and the node list with connection status and last heartbeat. The CLI
 * (`edgetwin cloud token create`, `edgetwin cloud nodes`) opens the same file.
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrateSchema } from '@edgetwin/device-twin/sqlite';
import { CLOUD_STATE_MIGRATIONS } from './state-migrations.js';

export interface NodeRecord {
  name: string;
  connected: boolean;
  joinedAt: number;
  lastHeartbeat: number | undefined;
  devices: number;
  address: string | undefined;
}

function hash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function newToken(prefix: string): string {
  return `${prefix}.${randomBytes(24).toString('base64url')}`;
}

export class CloudStateStore {
  private readonly db: Database.Database;

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'cloudcore.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    migrateSchema(this.db, {
      store: 'cloudcore state',
      file: join(dataDir, 'cloudcore.db'),
      migrations: CLOUD_STATE_MIGRATIONS,
    });
  }

  /** A new join token valid for `ttlMs`; only its hash is stored. */
  createJoinToken(ttlMs: number, now = Date.now()): { token: string; expiresAt: number } {
    const token = newToken('etj');
    this.db
      .prepare('INSERT INTO join_tokens (hash, created_at, expires_at) VALUES (?, ?, ?)')
      .run(hash(token), now, now + ttlMs);
    return { token, expiresAt: now + ttlMs };
  }

  checkJoinToken(token: string, now = Date.now()): boolean {
    const row = this.db.prepare('SELECT expires_at FROM join_tokens WHERE hash = ?').get(hash(token)) as
      { expires_at: number } | undefined;
    return row !== undefined && row.expires_at > now;
  }

  /** Registers (or re-registers) a node and returns its new per-node token. */
  registerNode(name: string, now = Date.now()): string {
    const token = newToken('etn');
    this.db
      .prepare(
        `INSERT INTO nodes (name, token_hash, joined_at) VALUES (?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash, joined_at = excluded.joined_at`,
      )
      .run(name, hash(token), now);
    return token;
  }

  authNode(name: string, token: string): boolean {
    const row = this.db.prepare('SELECT token_hash FROM nodes WHERE name = ?').get(name) as
      { token_hash: Buffer } | undefined;
    if (!row) return false;
    const h = hash(token);
    return row.token_hash.length === h.length && timingSafeEqual(row.token_hash, h);
  }

  setConnected(name: string, connected: boolean, address?: string, now = Date.now()): void {
    this.db
      .prepare('UPDATE nodes SET connected = ?, address = coalesce(?, address), last_heartbeat = ? WHERE name = ?')
      .run(connected ? 1 : 0, address ?? null, now, name);
  }

  /** Records many heartbeats in one transaction (the hub batches them). */
  heartbeats(items: Array<{ name: string; devices: number; at: number }>): void {
    const up = this.db.prepare('UPDATE nodes SET last_heartbeat = ?, devices = ? WHERE name = ?');
    this.db.transaction(() => {
      for (const it of items) up.run(it.at, it.devices, it.name);
    })();
  }

  /** On start: nobody is connected to a cloudcore that just started. */
  resetConnections(): void {
    this.db.prepare('UPDATE nodes SET connected = 0').run();
  }

  listNodes(): NodeRecord[] {
    const rows = this.db
      .prepare('SELECT name, connected, joined_at, last_heartbeat, devices, address FROM nodes ORDER BY name')
      .all() as Array<{
      name: string;
      connected: number;
      joined_at: number;
      last_heartbeat: number | null;
      devices: number;
      address: string | null;
    }>;
    return rows.map((r) => ({
      name: r.name,
      connected: r.connected === 1,
      joinedAt: r.joined_at,
      lastHeartbeat: r.last_heartbeat ?? undefined,
      devices: r.devices,
      address: r.address ?? undefined,
    }));
  }

  close(): void {
    this.db.close();
  }
}

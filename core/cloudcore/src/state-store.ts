/**
 * cloudcore's own state in SQLite (`cloudcore.db` in its data dir, mode 0600 in a 0700
 * directory), because the CRD-only setup has no core API for Secrets or Nodes: join tokens and
 * node tokens (both stored as SHA-256 hashes, never in clear), the serial numbers of the node
 * certificates its CA issued, and the node list with connection status and last heartbeat. The
 * CLI (`edgetwin cloud token create|list|revoke`, `edgetwin cloud nodes`) opens the same file.
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { migrateSchema } from '@edgetwin/device-twin/sqlite';
import { CLOUD_STATE_MIGRATIONS } from './state-migrations.js';
import { secretDir, secretFile } from '@edgetwin/cloud-link/pki';
import { JoinTokens, type CreateJoinTokenOptions, type JoinRefusal } from './join-tokens.js';

export interface NodeRecord {
  name: string;
  connected: boolean;
  joinedAt: number;
  lastHeartbeat: number | undefined;
  devices: number;
  address: string | undefined;
  /** When the node's newest certificate expires (TLS mode; undefined with a bearer token). */
  certExpires: number | undefined;
}

function hash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function newToken(prefix: string): string {
  return `${prefix}.${randomBytes(24).toString('base64url')}`;
}

export type AdmitResult = { ok: true; nodeToken: string; replaced: boolean } | JoinRefusal;

export class CloudStateStore {
  private readonly db: Database.Database;
  readonly tokens: JoinTokens;

  constructor(readonly dataDir: string) {
    secretDir(dataDir);
    this.db = new Database(secretFile(join(dataDir, 'cloudcore.db')));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    migrateSchema(this.db, {
      store: 'cloudcore state',
      file: join(dataDir, 'cloudcore.db'),
      migrations: CLOUD_STATE_MIGRATIONS,
    });
    this.tokens = new JoinTokens(this.db);
  }

  /** A new single-use join token valid for `ttlMs`; only its id and hash are stored. */
  createJoinToken(
    ttlMs: number,
    o: Omit<CreateJoinTokenOptions, 'ttlMs'> = {},
  ): { token: string; id: string; expiresAt: number } {
    return this.tokens.create({ ttlMs, ...o });
  }

  /** Whether `token` is a join token that could still join a node (known, unused, not revoked or expired). */
  checkJoinToken(token: string, now = Date.now()): boolean {
    return this.tokens.find(token, now)?.status === 'valid';
  }

  hasNode(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM nodes WHERE name = ?').get(name) !== undefined;
  }

  /**
   * A join, in one transaction: checks the token against the node name and whether the node
   * exists, uses the token up, and gives the node a new node token (its earlier token and
   * certificates stop working).
   */
  admitNode(token: string, name: string, now = Date.now()): AdmitResult {
    return this.db.transaction((): AdmitResult => {
      const exists = this.hasNode(name);
      const check = this.tokens.check(token, name, exists, now);
      if (!check.ok) return check;
      this.tokens.consume(check.id, name, now);
      return { ok: true, nodeToken: this.registerNode(name, now), replaced: exists };
    })();
  }

  /** Registers (or re-registers) a node, revokes its certificates and returns its new per-node token. */
  private registerNode(name: string, now: number): string {
    const token = newToken('etn');
    this.db
      .prepare(
        `INSERT INTO nodes (name, token_hash, joined_at) VALUES (?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash, joined_at = excluded.joined_at`,
      )
      .run(name, hash(token), now);
    this.db.prepare('DELETE FROM node_certs WHERE node = ?').run(name);
    return token;
  }

  /** Records a certificate the CA issued to `node` (and forgets expired ones). */
  recordCert(node: string, serial: string, notAfter: number, now = Date.now()): void {
    this.db.prepare('DELETE FROM node_certs WHERE not_after <= ?').run(now);
    this.db.prepare('INSERT INTO node_certs (serial, node, not_after) VALUES (?, ?, ?)').run(serial, node, notAfter);
  }

  /** Whether `serial` is a live certificate of `node` (issued to it since its last join). */
  authNodeCert(node: string, serial: string, now = Date.now()): boolean {
    return (
      this.db
        .prepare('SELECT 1 FROM node_certs WHERE serial = ? AND node = ? AND not_after > ?')
        .get(serial, node, now) !== undefined
    );
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
      .prepare(
        `SELECT name, connected, joined_at, last_heartbeat, devices, address,
           (SELECT max(not_after) FROM node_certs c WHERE c.node = nodes.name) AS cert_expires
         FROM nodes ORDER BY name`,
      )
      .all() as Array<{
      name: string;
      connected: number;
      joined_at: number;
      last_heartbeat: number | null;
      devices: number;
      address: string | null;
      cert_expires: number | null;
    }>;
    return rows.map((r) => ({
      name: r.name,
      connected: r.connected === 1,
      joinedAt: r.joined_at,
      lastHeartbeat: r.last_heartbeat ?? undefined,
      devices: r.devices,
      address: r.address ?? undefined,
      certExpires: r.cert_expires ?? undefined,
    }));
  }

  close(): void {
    this.db.close();
  }
}

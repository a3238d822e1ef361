/**
 * Join tokens in cloudcore's SQLite file (table made by state-migrations.ts). A token is `etj.` +
 * an 8-character public id + a 32-character secret; only the id and the SHA-256 of the whole
 * token are stored, and tokens are looked up by that hash. A token is single use, optionally
 * bound to one node name, and may replace the credentials of a node that already exists only
 * when it was created with `replace` (`edgetwin cloud token create --node NAME --replace`).
 * Tokens from 0.1.0 (reusable, any node) were kept by the migration with an id made from their
 * hash, and follow the same rules from then on: one new node, once.
 */
import type Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';

export const JOIN_TOKEN_PREFIX = 'etj.';
const ID_LENGTH = 8;
const TOKEN_SHAPE = /^etj\.[A-Za-z0-9_-]{40}$/;

export type JoinTokenStatus = 'valid' | 'used' | 'expired' | 'revoked';

export interface JoinTokenRecord {
  id: string;
  /** The only node name this token joins, if bound. */
  node: string | undefined;
  /** Whether it may replace the credentials of an existing node. */
  replace: boolean;
  createdAt: number;
  expiresAt: number;
  usedAt: number | undefined;
  usedBy: string | undefined;
  revokedAt: number | undefined;
  status: JoinTokenStatus;
}

export interface CreateJoinTokenOptions {
  ttlMs: number;
  node?: string;
  replace?: boolean;
}

/** Why a join was refused: 401 (the token is not good) or 403 (good token, not for this). */
export interface JoinRefusal {
  ok: false;
  status: 401 | 403;
  reason: string;
}

export type JoinCheck = { ok: true; id: string; replace: boolean } | JoinRefusal;

interface Row {
  id: string;
  hash: Buffer;
  node: string | null;
  replace: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
  revoked_at: number | null;
}

function hash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The public id of a token (its first 8 characters after `etj.`), or undefined if it is not one. */
export function joinTokenId(token: string): string | undefined {
  return TOKEN_SHAPE.test(token)
    ? token.slice(JOIN_TOKEN_PREFIX.length, JOIN_TOKEN_PREFIX.length + ID_LENGTH)
    : undefined;
}

function record(r: Row, now: number): JoinTokenRecord {
  return {
    id: r.id,
    node: r.node ?? undefined,
    replace: r.replace === 1,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    usedAt: r.used_at ?? undefined,
    usedBy: r.used_by ?? undefined,
    revokedAt: r.revoked_at ?? undefined,
    status: statusOf(r, now),
  };
}

function statusOf(r: Row, now: number): JoinTokenStatus {
  if (r.revoked_at !== null) return 'revoked';
  if (r.used_at !== null) return 'used';
  return r.expires_at > now ? 'valid' : 'expired';
}

export class JoinTokens {
  constructor(private readonly db: Database.Database) {}

  create(o: CreateJoinTokenOptions, now = Date.now()): { token: string; id: string; expiresAt: number } {
    for (;;) {
      const body = randomBytes(30).toString('base64url'); // 40 characters
      // An id starting with "-" would read as an option: `edgetwin cloud token revoke -x...` fails.
      if (body.startsWith('-')) continue;
      const id = body.slice(0, ID_LENGTH);
      const token = `${JOIN_TOKEN_PREFIX}${body}`;
      const r = this.db
        .prepare(
          `INSERT INTO join_tokens (id, hash, node, replace, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO NOTHING`,
        )
        .run(id, hash(token), o.node ?? null, o.replace ? 1 : 0, now, now + o.ttlMs);
      if (r.changes === 1) return { token, id, expiresAt: now + o.ttlMs };
    }
  }

  list(now = Date.now()): JoinTokenRecord[] {
    const rows = this.db.prepare('SELECT * FROM join_tokens ORDER BY created_at, id').all() as Row[];
    return rows.map((r) => record(r, now));
  }

  /** The record of a token, by the token itself (its hash). */
  find(token: string, now = Date.now()): JoinTokenRecord | undefined {
    const r = this.db.prepare('SELECT * FROM join_tokens WHERE hash = ?').get(hash(token)) as Row | undefined;
    return r ? record(r, now) : undefined;
  }

  /** Revokes a token by id (or by the whole token); false when there is no such token. */
  revoke(idOrToken: string, now = Date.now()): boolean {
    const id = joinTokenId(idOrToken) ?? idOrToken;
    const r = this.db.prepare('UPDATE join_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?').run(now, id);
    return r.changes === 1;
  }

  /** Whether `token` may join `node` now; `exists` says whether that node already has credentials. */
  check(token: string, node: string, exists: boolean, now = Date.now()): JoinCheck {
    const unknown: JoinRefusal = {
      ok: false,
      status: 401,
      reason: 'join token unknown; create one with `edgetwin cloud token create --node NAME`',
    };
    const r = this.db.prepare('SELECT * FROM join_tokens WHERE hash = ?').get(hash(token)) as Row | undefined;
    if (!r) return unknown;
    const id = r.id;
    const status = statusOf(r, now);
    if (status !== 'valid')
      return {
        ok: false,
        status: 401,
        reason: `join token ${id} is ${status}${status === 'used' ? ' (each token joins one node once)' : ''}; create a new one with \`edgetwin cloud token create --node ${node}\``,
      };
    if (r.node !== null && r.node !== node)
      return { ok: false, status: 403, reason: `join token ${id} is for node ${r.node}, not ${node}` };
    if (exists && r.replace !== 1)
      return {
        ok: false,
        status: 403,
        reason: `node ${node} already joined; to give it new credentials create a token with \`edgetwin cloud token create --node ${node} --replace\``,
      };
    return { ok: true, id, replace: r.replace === 1 };
  }

  /** Marks a checked token used (inside the caller's transaction). */
  consume(id: string, node: string, now = Date.now()): void {
    this.db.prepare('UPDATE join_tokens SET used_at = ?, used_by = ? WHERE id = ?').run(now, node, id);
  }
}

/**
 * Bearer tokens of the HTTP API (`security/http-tokens.json`, 0600): each has an id, a name, its
 * scopes (read, write, admin), an optional expiry and the SHA-256 of its secret. A token is
 * `et_{id}_{secret}` with 32 random bytes of secret, so a plain digest is enough at rest (nobody
 * guesses 256 bits); the secret is shown once, when it is created. `TokenVerifier` holds them in
 * memory, rereads the file when it changes (a revoked token is refused within moments, without a
 * restart) and checks a presented token in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { HttpScope } from '@edgetwin/device-twin';
import { EdgeTwinError, errorMessage, parseWithSchema } from '@edgetwin/sdk';
import { readIfExists, securityDir, writeSecretFile } from './secret-files.js';
import { Type } from '@edgetwin/sdk/typebox';

export const HTTP_SCOPES = ['read', 'write', 'admin'] as const;

const TokenSchema = Type.Object({
  id: Type.String({ pattern: '^[0-9a-f]{12}$' }),
  name: Type.String({ minLength: 1, maxLength: 128 }),
  scopes: Type.Array(Type.Union(HTTP_SCOPES.map((s) => Type.Literal(s))), { minItems: 1 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  createdAt: Type.Integer(),
  expiresAt: Type.Optional(Type.Integer()),
});
export type HttpToken = Static<typeof TokenSchema>;
const FileSchema = Type.Object({ version: Type.Literal(1), tokens: Type.Array(TokenSchema) });

export const tokensFile = (dataDir: string): string => join(securityDir(dataDir), 'http-tokens.json');
const digest = (secret: string) => createHash('sha256').update(secret).digest('hex');

export async function loadTokens(dataDir: string): Promise<HttpToken[]> {
  const file = tokensFile(dataDir);
  const text = await readIfExists(file);
  if (text === undefined) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `${file} is not JSON; fix it or remove it and create the tokens again`,
      {
        cause: err,
        details: { file },
      },
    );
  }
  return parseWithSchema(FileSchema, raw, file, { file }).tokens;
}

async function saveTokens(dataDir: string, tokens: readonly HttpToken[]): Promise<void> {
  await writeSecretFile(tokensFile(dataDir), `${JSON.stringify({ version: 1, tokens }, null, 2)}\n`);
}

/** Creates a token and returns it in full (the only time its secret exists outside the caller). */
export async function createToken(
  dataDir: string,
  spec: { name: string; scopes: readonly HttpScope[]; expiresAt?: number },
): Promise<{ token: string; record: HttpToken }> {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const token = `et_${id}_${secret}`;
  const record: HttpToken = {
    id,
    name: spec.name,
    scopes: [...new Set(spec.scopes)],
    sha256: digest(token),
    createdAt: Date.now(),
    ...(spec.expiresAt === undefined ? {} : { expiresAt: spec.expiresAt }),
  };
  await saveTokens(dataDir, [...(await loadTokens(dataDir)), parseWithSchema(TokenSchema, record, 'token')]);
  return { token, record };
}

/** Revokes the tokens with this id or name; returns how many. */
export async function revokeTokens(dataDir: string, idOrName: string): Promise<number> {
  const tokens = await loadTokens(dataDir);
  const left = tokens.filter((t) => t.id !== idOrName && t.name !== idOrName);
  if (left.length !== tokens.length) await saveTokens(dataDir, left);
  return tokens.length - left.length;
}

export class TokenVerifier {
  private byId = new Map<string, HttpToken>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: { dataDir: string; logger: Logger; now?: () => number }) {}

  /** How many tokens there were at the last load. */
  get size(): number {
    return this.byId.size;
  }

  async start(): Promise<void> {
    await this.reload();
    try {
      this.watcher = watch(securityDir(this.opts.dataDir), () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.reload().catch((err: unknown) =>
            this.opts.logger.error({ err: errorMessage(err) }, `HTTP tokens not reloaded: ${errorMessage(err)}`),
          );
        }, 50);
      });
      this.watcher.on('error', () => undefined);
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'cannot watch the tokens file; restart to apply changes');
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.timer);
  }

  async reload(): Promise<void> {
    this.byId = new Map((await loadTokens(this.opts.dataDir)).map((t) => [t.id, t]));
  }

  /** The scopes of a presented token, or undefined. */
  readonly verify = (presented: string): readonly HttpScope[] | undefined => {
    const m = /^et_([0-9a-f]{12})_[A-Za-z0-9_-]{20,}$/.exec(presented);
    const t = m ? this.byId.get(m[1]!) : undefined;
    if (!t) return undefined;
    if (t.expiresAt !== undefined && t.expiresAt <= (this.opts.now?.() ?? Date.now())) return undefined;
    const ok = timingSafeEqual(Buffer.from(digest(presented), 'hex'), Buffer.from(t.sha256, 'hex'));
    return ok ? t.scopes : undefined;
  };
}

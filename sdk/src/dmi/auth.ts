/**
 * Bearer tokens on DMI calls: a caller proves which mapper it is (or that it is the edgecore that
 * started the mapper) with gRPC metadata `authorization: Bearer <token>`. edgecore makes one random
 * token per mapper process it starts and hands it over in a 0600 file named in the mapper's
 * environment (never on its command line); KubeEdge's own mappers send none.
 * A token is checked through its SHA-256 digest, compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http2';

/** The metadata key (an HTTP/2 header) that carries the token. */
export const DMI_AUTHORIZATION = 'authorization';

/** A new token: 32 random bytes (256 bits), base64url. */
export function newDmiToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 of a token, hex: what a checker keeps instead of the token. */
export function dmiTokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The token a call carries: `undefined` without an `authorization` header, `''` when the header is
 * not `Bearer <token>` (a malformed credential is refused, never taken as no credential).
 */
export function bearerToken(metadata: IncomingHttpHeaders): string | undefined {
  const raw: unknown = metadata[DMI_AUTHORIZATION];
  if (raw === undefined) return undefined;
  // Twice the header (an array) is malformed too.
  const m = typeof raw === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(raw) : null;
  return m ? m[1]! : '';
}

/** True when `presented` is the token whose digest is `digest` (constant-time comparison). */
export function dmiTokenMatches(presented: string | undefined, digest: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(dmiTokenDigest(presented), 'hex');
  const b = Buffer.from(digest, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

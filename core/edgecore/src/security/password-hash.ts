/**
 * Passwords at rest in Mosquitto's own `password_file` format (`$7$`: PBKDF2-HMAC-SHA512, then the
 * iteration count, a base64 salt and a base64 hash), so one hash serves the embedded broker and a
 * Mosquitto that loads the generated file. Secrets for machines are random and long; a person may
 * pick one, hence a real key-derivation function rather than a plain digest.
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** PBKDF2 rounds for new hashes (mosquitto_passwd 2.0 writes 101; more costs ~10 ms per connect here). */
export const DEFAULT_ITERATIONS = 10_000;

/** A `$7$` hash of `password` with a fresh 12-byte salt. */
export async function hashPassword(password: string, iterations = DEFAULT_ITERATIONS): Promise<string> {
  const salt = randomBytes(12);
  const hash = await pbkdf2Async(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when `password` matches a `$7$` hash; any other or malformed hash never matches. */
export async function verifyPassword(password: string | Buffer, stored: string): Promise<boolean> {
  const m = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const iterations = Number(m[1]);
  const expected = Buffer.from(m[3]!, 'base64');
  if (iterations < 1 || expected.length !== 64) return false;
  const got = await pbkdf2Async(password, Buffer.from(m[2]!, 'base64'), iterations, 64, 'sha512');
  return timingSafeEqual(got, expected);
}

/** A random secret for a machine identity or a token (URL- and shell-safe). */
export function newSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * MQTT identities of the edge (`security/mqtt-users.json`, 0600): who may connect to the edge
 * broker, with which role, and the `$7$` hash of each password (never the password). edgecore and
 * each mapper get an identity of their own, created by edgecore; people and edge apps get theirs
 * with `edgetwin users add`.
 *
 * Roles:
 * - `edgecore`: everything (it serves the twin protocol and publishes desired values).
 * - `mapper` (one `protocol`): `$hw` reports for this node's devices of that protocol only.
 * - `app`: reads the data and `$hw` topics of the devices its `read` patterns match, sets desired
 *   values (`.../set`) of those its `set` patterns match. A pattern is `namespace/name` with `*`
 *   wildcards: `default/*`, `*\/thermostat-*`, `*\/*`.
 * - `admin`: reads everything and sets every desired value; still cannot publish what only
 *   edgecore may (deltas, data values, results).
 */
import { join } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { EdgeTwinError, parseWithSchema } from '@edgetwin/sdk';
import { readIfExists, securityDir, writeSecretFile } from './secret-files.js';
import { Type } from '@edgetwin/sdk/typebox';

export const ROLES = ['edgecore', 'mapper', 'app', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const IdentitySchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]*$' }),
  role: Type.Union(ROLES.map((r) => Type.Literal(r))),
  /** `$7$` PBKDF2-SHA512 hash (Mosquitto's format); absent for a certificate-only identity. */
  hash: Type.Optional(Type.String()),
  protocol: Type.Optional(Type.String({ minLength: 1 })),
  read: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  set: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  /** Refused from this time on (ms since the epoch). */
  expiresAt: Type.Optional(Type.Integer()),
  createdAt: Type.Integer(),
});
export type Identity = Static<typeof IdentitySchema>;

const FileSchema = Type.Object({ version: Type.Literal(1), users: Type.Array(IdentitySchema) });

export const usersFile = (dataDir: string): string => join(securityDir(dataDir), 'mqtt-users.json');

/** The identities in the users file (none when it does not exist yet). */
export async function loadIdentities(dataDir: string): Promise<Identity[]> {
  const file = usersFile(dataDir);
  const text = await readIfExists(file);
  if (text === undefined) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new EdgeTwinError('ET_CONFIG_INVALID', `${file} is not JSON; fix it or remove it and add the users again`, {
      cause: err,
      details: { file },
    });
  }
  return parseWithSchema(FileSchema, raw, file, { file }).users;
}

export async function saveIdentities(dataDir: string, users: readonly Identity[]): Promise<void> {
  const sorted = [...users].sort((a, b) => a.name.localeCompare(b.name));
  await writeSecretFile(usersFile(dataDir), `${JSON.stringify({ version: 1, users: sorted }, null, 2)}\n`);
}

/**
 * Read-modify-write of the users file, one at a time within this process (edgecore creates the
 * identities of several mappers at once). Another process (`edgetwin users`) writes atomically.
 */
const writers = new Map<string, Promise<unknown>>();
export function updateIdentities<T>(dataDir: string, fn: (users: Identity[]) => Promise<T> | T): Promise<T> {
  const file = usersFile(dataDir);
  const run = (writers.get(file) ?? Promise.resolve())
    .catch(() => undefined)
    .then(async () => fn(await loadIdentities(dataDir)));
  writers.set(file, run);
  void run
    .finally(() => {
      if (writers.get(file) === run) writers.delete(file);
    })
    .catch(() => undefined);
  return run;
}

/** Adds or replaces one identity (by name) in the users file. */
export async function upsertIdentity(dataDir: string, identity: Identity): Promise<void> {
  const valid = parseWithSchema(IdentitySchema, identity, 'identity');
  await updateIdentities(dataDir, (users) =>
    saveIdentities(dataDir, [...users.filter((u) => u.name !== identity.name), valid]),
  );
}

/** Removes an identity; false when there was none of that name. */
export async function removeIdentity(dataDir: string, name: string): Promise<boolean> {
  return updateIdentities(dataDir, async (users) => {
    const left = users.filter((u) => u.name !== name);
    if (left.length === users.length) return false;
    await saveIdentities(dataDir, left);
    return true;
  });
}

export const isExpired = (u: Identity, now: number): boolean => u.expiresAt !== undefined && u.expiresAt <= now;

/**
 * edgecore's own MQTT identity and one per mapper, created by edgecore: a random password whose
 * hash goes into the users file and whose clear text goes into a 0600 file only that process
 * reads (edgecore's under `security/`, a mapper's in its own 0700 state directory). A mapper is
 * told where its file is through the environment, never on its command line.
 */
import { join } from 'node:path';
import { loadIdentities, upsertIdentity, type Identity } from './identities.js';
import { hashPassword, newSecret, verifyPassword } from './password-hash.js';
import { readIfExists, securityDir, writeSecretFile } from './secret-files.js';

export interface MachineCredentials {
  username: string;
  password: string;
  /** The 0600 file holding the password. */
  passwordFile: string;
}

export const EDGECORE_USER = 'edgecore';
export const mapperUser = (protocol: string): string => `mapper-${protocol}`;
export const mapperStateDir = (dataDir: string, protocol: string): string => join(dataDir, 'mappers', protocol);
export const mapperPasswordFile = (dataDir: string, protocol: string): string =>
  join(mapperStateDir(dataDir, protocol), 'mqtt-password');
export const edgecorePasswordFile = (dataDir: string): string => join(securityDir(dataDir), 'edgecore.mqtt-password');

/**
 * The credentials of a machine identity: reused while its identity and password file agree,
 * otherwise a new password is made (and the old one stops working at once).
 */
export async function ensureMachineIdentity(
  dataDir: string,
  spec: { name: string; role: 'edgecore' | 'mapper'; protocol?: string; passwordFile: string },
): Promise<MachineCredentials> {
  const existing = (await loadIdentities(dataDir)).find((u) => u.name === spec.name);
  const stored = (await readIfExists(spec.passwordFile))?.trim();
  if (
    existing?.hash &&
    existing.role === spec.role &&
    existing.protocol === spec.protocol &&
    stored &&
    (await verifyPassword(stored, existing.hash))
  ) {
    return { username: spec.name, password: stored, passwordFile: spec.passwordFile };
  }
  const password = newSecret();
  await writeSecretFile(spec.passwordFile, `${password}\n`);
  const identity: Identity = {
    name: spec.name,
    role: spec.role,
    hash: await hashPassword(password),
    createdAt: Date.now(),
    ...(spec.protocol === undefined ? {} : { protocol: spec.protocol }),
  };
  await upsertIdentity(dataDir, identity);
  return { username: spec.name, password, passwordFile: spec.passwordFile };
}

export const ensureEdgecoreIdentity = (dataDir: string): Promise<MachineCredentials> =>
  ensureMachineIdentity(dataDir, {
    name: EDGECORE_USER,
    role: 'edgecore',
    passwordFile: edgecorePasswordFile(dataDir),
  });

export const ensureMapperIdentity = (dataDir: string, protocol: string): Promise<MachineCredentials> =>
  ensureMachineIdentity(dataDir, {
    name: mapperUser(protocol),
    role: 'mapper',
    protocol,
    passwordFile: mapperPasswordFile(dataDir, protocol),
  });

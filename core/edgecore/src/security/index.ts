/** The edge's MQTT identities, their policy and the files they live in. */
import { upsertIdentity, type Identity } from './identities.js';
import { hashPassword, newSecret } from './password-hash.js';

export {
  loadIdentities,
  removeIdentity,
  upsertIdentity,
  usersFile,
  ROLES,
  type Identity,
  type Role,
} from './identities.js';
export { hashPassword, verifyPassword, newSecret } from './password-hash.js';
export { MqttPolicy, type PolicyContext, type ForwardDecision } from './mqtt-policy.js';
export { BrokerAccess, type BrokerAccessOptions } from './broker-access.js';
export {
  EDGECORE_USER,
  mapperUser,
  mapperPasswordFile,
  edgecorePasswordFile,
  ensureEdgecoreIdentity,
  ensureMapperIdentity,
  type MachineCredentials,
} from './machine-identities.js';
export { securityDir, writeSecretFile } from './secret-files.js';

export interface NewUser {
  name: string;
  role: 'app' | 'admin';
  read?: string[];
  set?: string[];
  expiresAt?: number;
  /** Default: a random one. */
  password?: string;
}

/** Adds (or replaces) a person's or app's identity and returns its password. */
export async function addMqttUser(dataDir: string, user: NewUser): Promise<string> {
  const password = user.password ?? newSecret();
  const identity: Identity = {
    name: user.name,
    role: user.role,
    hash: await hashPassword(password),
    createdAt: Date.now(),
    ...(user.read ? { read: user.read } : {}),
    ...(user.set ? { set: user.set } : {}),
    ...(user.expiresAt === undefined ? {} : { expiresAt: user.expiresAt }),
  };
  await upsertIdentity(dataDir, identity);
  return password;
}
export {
  createToken,
  revokeTokens,
  loadTokens,
  tokensFile,
  TokenVerifier,
  HTTP_SCOPES,
  type HttpToken,
} from './http-tokens.js';

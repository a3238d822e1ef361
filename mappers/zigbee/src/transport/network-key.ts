/**
 * The coordinator's network parameters that must never change once the network exists: the
 * network key and extended PAN id, generated once with a CSPRNG and kept (mode 0600) in the data
 * dir. The key is a secret: it is never logged.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeTwinError } from '@edgetwin/sdk';

export interface NetworkSecrets {
  networkKey: number[];
  extendedPanId: number[];
}

export function loadOrCreateSecrets(dir: string): NetworkSecrets {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'network-key.json');
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `${file} is not valid JSON; restore it from a backup (deleting it forms a new network and every device must pair again)`,
        {
          cause: err,
          details: { file },
        },
      );
    }
    const s = parsed as Partial<NetworkSecrets>;
    if (!isBytes(s.networkKey, 16) || !isBytes(s.extendedPanId, 8)) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `${file} must hold networkKey (16 bytes) and extendedPanId (8 bytes); restore it from a backup`,
        {
          details: { file },
        },
      );
    }
    return { networkKey: s.networkKey, extendedPanId: s.extendedPanId };
  }
  const secrets: NetworkSecrets = { networkKey: [...randomBytes(16)], extendedPanId: [...randomBytes(8)] };
  writeFileSync(`${file}.tmp`, JSON.stringify(secrets), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return secrets;
}

function isBytes(v: unknown, n: number): v is number[] {
  return Array.isArray(v) && v.length === n && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255);
}

/** Hex forms of the secrets, for redacting them from herdsman's log lines. */
export function secretStrings(s: NetworkSecrets): string[] {
  const hex = Buffer.from(s.networkKey).toString('hex');
  return [hex, s.networkKey.join(','), JSON.stringify(s.networkKey)];
}

/** The session's user identity: anonymous, or a user name with a password from a file or the environment. */
import { readFile } from 'node:fs/promises';
import { UserTokenType, type UserIdentityInfo } from 'node-opcua-client';
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import type { OpcuaProtocolConfig } from '../config.js';

export interface IdentityOptions {
  deviceId: string;
  config: OpcuaProtocolConfig;
  /** Environment for `passwordEnv` (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Reads the password (never logged) at every connect, so a rotated password is picked up. */
export async function userIdentity(opts: IdentityOptions): Promise<UserIdentityInfo> {
  const { config: cfg, deviceId } = opts;
  if (cfg.userName === undefined) return { type: UserTokenType.Anonymous };
  let password: string | undefined;
  if (cfg.passwordFile !== undefined) {
    try {
      password = (await readFile(cfg.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `Device ${deviceId}: cannot read passwordFile ${cfg.passwordFile}: ${errorMessage(err)}; create it or fix the path`,
        { cause: err, details: { file: cfg.passwordFile, path: '/spec/protocol/configData/passwordFile' } },
      );
    }
  } else if (cfg.passwordEnv !== undefined) {
    password = (opts.env ?? process.env)[cfg.passwordEnv];
    if (password === undefined) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `Device ${deviceId}: environment variable ${cfg.passwordEnv} (passwordEnv) is not set; set it for the mapper process`,
        { details: { path: '/spec/protocol/configData/passwordEnv' } },
      );
    }
  }
  return { type: UserTokenType.UserName, userName: cfg.userName, password: password ?? '' };
}

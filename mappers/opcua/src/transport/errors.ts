/**
 * node-opcua connect failures as EdgeTwinErrors that say what to do: untrusted server certificate
 * (with its thumbprint and the file to copy), server refusing the mapper certificate or the user,
 * no matching endpoint, unreachable server. Passwords never appear.
 */
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import type { OpcuaProtocolConfig, ResolvedSecurity } from '../config.js';
import { certificateThumbprint, findRejected, pkiLayout, readCertificateDer } from './pki.js';

export interface ConnectErrorContext {
  deviceId: string;
  config: OpcuaProtocolConfig;
  security: ResolvedSecurity;
  pkiDir: string;
  /** Asks the server which `Mode/Policy` pairs it offers (undefined when it does not say). */
  offeredEndpoints?: () => Promise<string[] | undefined>;
}

function endpointMismatch(opts: ConnectErrorContext, err: unknown, offered: string[] | undefined): EdgeTwinError {
  const { deviceId, config: cfg, security } = opts;
  const field = offered?.some((o) => o.startsWith(`${security.mode}/`)) ? 'securityPolicy' : 'securityMode';
  const noneHint =
    security.mode === 'None' && !offered?.some((o) => o.startsWith('None/'))
      ? ' (it has no unsecured endpoint: set securityMode Sign or SignAndEncrypt)'
      : '';
  const offers = offered?.length
    ? `it offers (securityMode/securityPolicy) ${offered.join(', ')}; set securityMode and securityPolicy in the protocol configData to one of these${noneHint}`
    : `change them in the protocol configData to ones the server offers${noneHint}`;
  return new EdgeTwinError(
    'ET_CONFIG_INVALID',
    `Device ${deviceId}: ${cfg.url} offers no endpoint with securityMode ${security.mode} and securityPolicy ${security.policy}; ${offers}`,
    {
      cause: err,
      details: { path: `/spec/protocol/configData/${field}`, ...(offered ? { offered } : {}) },
    },
  );
}

export async function connectError(
  opts: ConnectErrorContext,
  err: unknown,
  seenCert: Buffer | undefined,
): Promise<EdgeTwinError> {
  const { deviceId, config: cfg, security, pkiDir } = opts;
  const msg = errorMessage(err)
    .replace(/\s+/g, ' ')
    .replace(/ \.\.\. /g, ' ');
  const layout = pkiLayout(pkiDir);
  if (/certificate verification failed/i.test(msg)) {
    const status = /Bad[A-Za-z]+/.exec(msg)?.[0] ?? 'BadCertificateUntrusted';
    const thumbprint = seenCert ? certificateThumbprint(seenCert) : 'unknown';
    const rejectedFile = seenCert ? await findRejected(pkiDir, thumbprint) : undefined;
    const where = rejectedFile ?? `${layout.rejected}/`;
    return new EdgeTwinError(
      'ET_PROTOCOL',
      `Device ${deviceId}: the server certificate of ${cfg.url} (SHA-1 thumbprint ${thumbprint}) is not trusted (${status}). ` +
        `If this is your server, copy ${where} (or the server's own certificate file) into the trust list ${layout.trusted}/; the mapper retries by itself`,
      {
        cause: err,
        details: { status, thumbprint, trustList: layout.trusted, ...(rejectedFile ? { rejectedFile } : {}) },
      },
    );
  }
  // node-opcua says "cannot find endpoint" when it checked the server's list, "End point must exist"
  // when a None channel opened but createSession found no matching endpoint (e.g. a server
  // offering only SignAndEncrypt); a server refusing a None channel outright may still say what it
  // offers over discovery.
  const mismatch = /cannot find (an )?endpoint|end ?point must exist/i.test(msg);
  if (mismatch || (security.mode === 'None' && /rejected by server/i.test(msg))) {
    const offered = await opts.offeredEndpoints?.();
    if (mismatch || offered?.length) return endpointMismatch(opts, err, offered);
  }
  if (/BadUserAccessDenied|BadIdentityToken|BadUserSignatureInvalid/.test(msg)) {
    const status = /Bad[A-Za-z]+/.exec(msg)?.[0] ?? 'BadUserAccessDenied';
    const who = cfg.userName === undefined ? 'anonymous access' : `user ${cfg.userName}`;
    return new EdgeTwinError(
      'ET_PROTOCOL',
      `Device ${deviceId}: ${cfg.url} refused ${who} (${status}); check userName and the password in ${cfg.passwordFile ?? `$${cfg.passwordEnv ?? '?'}`}`,
      { cause: err, details: { status } },
    );
  }
  const status = /Bad[A-Za-z]+/.exec(msg)?.[0];
  if (security.mode !== 'None' && /rejected by server|BadSecurityChecksFailed|BadCertificate/i.test(msg)) {
    const own = cfg.certificateFile ?? layout.ownCertificate;
    const thumbprint = await readCertificateDer(own).then(certificateThumbprint, () => 'unknown');
    return new EdgeTwinError(
      'ET_UNAVAILABLE',
      `Device ${deviceId}: ${cfg.url} closed the secured connection (${msg}). ` +
        `If the server does not trust the mapper yet, add the mapper certificate ${own} (SHA-1 thumbprint ${thumbprint}) to the server's trust list`,
      { cause: err, details: { clientCertificate: own, clientThumbprint: thumbprint, ...(status ? { status } : {}) } },
    );
  }
  if (security.mode === 'None' && /rejected by server/i.test(msg)) {
    return new EdgeTwinError(
      'ET_UNAVAILABLE',
      `Device ${deviceId}: ${cfg.url} closed the connection (${msg}). If the server offers only secured endpoints, set securityMode Sign or SignAndEncrypt in the protocol configData`,
      { cause: err, details: { path: '/spec/protocol/configData/securityMode', ...(status ? { status } : {}) } },
    );
  }
  return new EdgeTwinError(
    'ET_UNAVAILABLE',
    `Device ${deviceId}: cannot open an OPC UA session with ${cfg.url}: ${msg}; check that the server runs and the url is right`,
    { cause: err, details: status === undefined ? {} : { status } },
  );
}

/**
 * How edgecore's HTTP API is protected, decided at start: bearer tokens (`edgetwin tokens`) are
 * required when `httpAuth` is `tokens`, or in `auto` mode (the default) as soon as a token exists
 * or the API binds to a non-loopback address. Binding beyond loopback without authentication is
 * refused unless `insecure`, which then warns at every start. The Host header is checked against
 * the names of this machine (DNS rebinding); CORS is off unless origins are listed.
 */
import { hostname, networkInterfaces } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { HttpAccessOptions } from '@edgetwin/device-twin';
import { EdgeTwinError } from '@edgetwin/sdk';
import { TokenVerifier } from '../security/http-tokens.js';

export interface HttpSecurityOptions {
  dataDir: string;
  host: string;
  /** `auto` (default): tokens once one exists or off loopback; `tokens`: always; `none`: never. */
  auth?: 'auto' | 'tokens' | 'none';
  /** Allow a non-loopback bind without authentication (warns at every start). */
  insecure?: boolean;
  /** Extra Host names; `*` turns the Host check off. */
  allowedHosts?: readonly string[];
  corsOrigins?: readonly string[];
  metricsOpen?: boolean;
  tls?: { certFile: string; keyFile: string; caFile?: string };
}

export interface HttpSecurity {
  access: HttpAccessOptions;
  https?: { cert: Buffer; key: Buffer; ca?: Buffer };
  verifier?: TokenVerifier;
}

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export async function httpSecurity(opts: HttpSecurityOptions, logger: Logger): Promise<HttpSecurity> {
  const mode = opts.auth ?? 'auto';
  const loopback = isLoopback(opts.host);
  let verifier: TokenVerifier | undefined;
  if (mode !== 'none') {
    verifier = new TokenVerifier({ dataDir: opts.dataDir, logger });
    await verifier.start();
  }
  const haveTokens = (verifier?.size ?? 0) > 0;
  let required = mode === 'tokens' || (mode === 'auto' && (haveTokens || !loopback));
  if (!loopback && (!required || !haveTokens) && mode !== 'tokens') {
    if (!opts.insecure) {
      verifier?.stop();
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `the HTTP API would listen on ${opts.host} without authentication; create a token first ("edgetwin tokens create --scope read --data-dir ${opts.dataDir}"), or pass --insecure to accept that anyone who reaches ${opts.host} reads and writes every twin`,
      );
    }
    required = false;
    logger.warn(
      { host: opts.host },
      `INSECURE: the HTTP API listens on ${opts.host} without authentication (--insecure); anyone who reaches it reads and writes every twin`,
    );
  }
  if (!required) {
    verifier?.stop();
    verifier = undefined;
  } else if (!haveTokens) {
    logger.warn('the HTTP API needs a bearer token and none exists yet; create one with "edgetwin tokens create"');
  }
  const extra = opts.allowedHosts ?? [];
  const access: HttpAccessOptions = {
    ...(verifier ? { verifyToken: verifier.verify } : {}),
    ...(extra.includes('*') ? {} : { allowedHosts: [...localNames(opts.host), ...extra] }),
    ...(opts.corsOrigins ? { corsOrigins: opts.corsOrigins } : {}),
    ...(opts.metricsOpen ? { metricsOpen: true } : {}),
    // The web console's page and bundle hold no data; its API calls carry the token.
    isPublic: (path) => path === '/' || path.startsWith('/assets/'),
  };
  const tls = opts.tls;
  return {
    access,
    ...(verifier ? { verifier } : {}),
    ...(tls
      ? {
          https: {
            cert: await readFile(tls.certFile),
            key: await readFile(tls.keyFile),
            ...(tls.caFile ? { ca: await readFile(tls.caFile) } : {}),
          },
        }
      : {}),
  };
}

/** The names a client on this machine or its networks may address the API by. */
function localNames(bind: string): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1']);
  if (bind !== '0.0.0.0' && bind !== '::') names.add(bind.toLowerCase());
  if (!isLoopback(bind)) {
    names.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces()))
      for (const a of list ?? []) if (bind === '0.0.0.0' || bind === '::' || a.address === bind) names.add(a.address);
  }
  return [...names];
}

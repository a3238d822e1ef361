/**
 * Which security modes and policies a server offers, asked over an unsecured discovery connection
 * (GetEndpoints), for the error message when the configured pair is not among them.
 */
import type { Clock, ClockTimer } from '@edgetwin/sdk/util';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { MessageSecurityMode, OPCUAClient, SecurityPolicy } from 'node-opcua-client';

export interface OfferedEndpointsOptions {
  url: string;
  clientCertificateManager: OPCUACertificateManager;
  certificateFile: string;
  privateKeyFile: string;
  timeoutMs: number;
  clock: Clock;
}

/** `Mode/Policy` pairs the server offers (e.g. `Sign/Basic256Sha256`), or undefined if it does not say. */
export async function offeredEndpoints(opts: OfferedEndpointsOptions): Promise<string[] | undefined> {
  const client = OPCUAClient.create({
    applicationName: 'EdgeTwin OPC UA mapper',
    clientName: 'edgetwin endpoint discovery',
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    clientCertificateManager: opts.clientCertificateManager,
    certificateFile: opts.certificateFile,
    privateKeyFile: opts.privateKeyFile,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 500 },
    defaultTransactionTimeout: opts.timeoutMs,
    transportTimeout: opts.timeoutMs,
  });
  let timer: ClockTimer | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = opts.clock.setTimeout(() => resolve(undefined), opts.timeoutMs);
  });
  const ask = (async () => {
    await client.connect(opts.url);
    const endpoints = await client.getEndpoints();
    const pairs = endpoints.map(
      (e) => `${MessageSecurityMode[e.securityMode]}/${(e.securityPolicyUri ?? '').replace(/^.*#/, '')}`,
    );
    return [...new Set(pairs)];
  })().catch(() => undefined);
  try {
    return await Promise.race([ask, timeout]);
  } finally {
    if (timer) opts.clock.clearTimeout(timer);
    await client.disconnect().catch(() => undefined);
  }
}

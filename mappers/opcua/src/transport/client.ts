/**
 * Transport: one secured OPC UA client connection and session per device. Sets up the client PKI
 * (certificate generated once into the PKI folder, server certificates checked against its trust
 * list), the user identity, and turns node-opcua failures into EdgeTwinErrors that say what to do.
 * node-opcua's own reconnection is off: a lost link is reported once through `onLost` and the
 * runtime reconnects with backoff, re-creating the session and its subscription.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { MessageSecurityMode, OPCUAClient, SecurityPolicy, type ClientSession } from 'node-opcua-client';
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { type MapperContext } from '@edgetwin/sdk/mapper';
import { systemClock, type Clock, type ClockTimer } from '@edgetwin/sdk/util';
import type { OpcuaProtocolConfig, ResolvedSecurity } from '../config.js';
import { offeredEndpoints } from './endpoints.js';
import { connectError } from './errors.js';
import { userIdentity } from './identity.js';
import { certificateApplicationUri, pkiLayout, reconcileTrustList } from './pki.js';

type Logger = MapperContext['logger'];

export interface OpenSessionOptions {
  deviceId: string;
  config: OpcuaProtocolConfig;
  security: ResolvedSecurity;
  pkiDir: string;
  logger: Logger;
  signal: AbortSignal;
  /** Environment for `passwordEnv` (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Clock for the connect timeout (default the system clock). */
  clock?: Clock;
  /** Called once when the connection or the session is lost after it was established. */
  onLost(err: Error): void;
}

export interface OpcuaConnection {
  client: OPCUAClient;
  session: ClientSession;
  /** Reports the link lost (once per connection, never after close). */
  lost(err: Error): void;
  /** Closes the session and the connection; never throws. */
  close(): Promise<void>;
}

const MODES: Record<ResolvedSecurity['mode'], MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};
const POLICIES: Record<ResolvedSecurity['policy'], SecurityPolicy> = {
  None: SecurityPolicy.None,
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

/** Records the server certificate the client checks, for the thumbprint in error messages. */
function recordCheckedCertificates(cm: OPCUACertificateManager): { last?: Buffer } {
  const seen: { last?: Buffer } = {};
  const original = cm.checkCertificate.bind(cm) as (c: Buffer | Buffer[]) => Promise<unknown>;
  Object.assign(cm, {
    checkCertificate: (chain: Buffer | Buffer[]) => {
      const first = Array.isArray(chain) ? chain[0] : chain;
      if (first) seen.last = first;
      return original(chain);
    },
  });
  return seen;
}

/** Connects, verifies the server, creates the session. Throws EdgeTwinError. */
export async function openSession(opts: OpenSessionOptions): Promise<OpcuaConnection> {
  const { config: cfg, security, signal, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const layout = pkiLayout(opts.pkiDir);
  await mkdir(opts.pkiDir, { recursive: true });
  const certificateFile = cfg.certificateFile ?? layout.ownCertificate;
  const privateKeyFile = cfg.privateKeyFile ?? layout.ownPrivateKey;
  if (cfg.certificateFile === undefined) await mkdir(dirname(certificateFile), { recursive: true });
  await reconcileTrustList(opts.pkiDir);
  const cm = new OPCUACertificateManager({
    rootFolder: opts.pkiDir,
    automaticallyAcceptUnknownCertificate: false,
    disableFileWatchers: true,
  });
  const seen = recordCheckedCertificates(cm);
  const identity = await userIdentity(opts);
  // A given certificate names the application; the client must claim the same URI.
  const applicationUri =
    cfg.certificateFile === undefined
      ? undefined
      : await certificateApplicationUri(certificateFile).catch((err: unknown) => {
          throw new EdgeTwinError(
            'ET_CONFIG_INVALID',
            `Device ${opts.deviceId}: cannot read certificateFile ${certificateFile}: ${errorMessage(err)}; give a PEM or DER certificate`,
            { cause: err, details: { file: certificateFile, path: '/spec/protocol/configData/certificateFile' } },
          );
        });
  const client = OPCUAClient.create({
    applicationName: 'EdgeTwin OPC UA mapper',
    ...(applicationUri === undefined ? {} : { applicationUri }),
    clientName: `edgetwin ${opts.deviceId}`,
    securityMode: MODES[security.mode],
    securityPolicy: POLICIES[security.policy],
    clientCertificateManager: cm,
    certificateFile,
    privateKeyFile,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 500 },
    keepSessionAlive: true,
    keepAliveInterval: cfg.keepAliveMs,
    requestedSessionTimeout: Math.max(60_000, cfg.keepAliveMs * 4),
    defaultTransactionTimeout: cfg.timeoutMs,
    transportTimeout: cfg.timeoutMs,
  });
  let closed = false;
  let lost = false;
  const reportLost = (err: Error) => {
    if (closed || lost) return;
    lost = true;
    logger.warn({ err: err.message }, 'OPC UA link lost');
    opts.onLost(err);
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await client.disconnect();
    } catch (err) {
      logger.debug({ err: errorMessage(err) }, 'OPC UA disconnect failed');
    }
    await cm.dispose().catch(() => undefined);
  };

  const abortError = () =>
    new EdgeTwinError('ET_ABORTED', `Device ${opts.deviceId}: connecting to ${cfg.url} was cancelled`);
  let timer: ClockTimer | undefined;
  let onAbort: (() => void) | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(
      () =>
        reject(
          new EdgeTwinError(
            'ET_TIMEOUT',
            `Device ${opts.deviceId}: no OPC UA session with ${cfg.url} after ${cfg.timeoutMs} ms; check the url and the network, or raise timeoutMs`,
          ),
        ),
      cfg.timeoutMs,
    );
    onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    if (signal.aborted) throw abortError();
    const work = (async () => {
      try {
        await client.connect(cfg.url);
        return await client.createSession(identity);
      } catch (err) {
        const offered = () =>
          offeredEndpoints({
            url: cfg.url,
            clientCertificateManager: cm,
            certificateFile,
            privateKeyFile,
            timeoutMs: cfg.timeoutMs,
            clock,
          });
        throw await connectError({ ...opts, offeredEndpoints: offered }, err, seen.last);
      }
    })();
    // When the guard wins, the late outcome of `work` is dropped; close() ends the client.
    work.catch(() => undefined);
    const session = await Promise.race([work, guard]);
    client.on('connection_lost', () =>
      reportLost(new EdgeTwinError('ET_UNAVAILABLE', `Device ${opts.deviceId}: connection to ${cfg.url} lost`)),
    );
    client.on('close', (err?: Error | null) => {
      if (err)
        reportLost(
          new EdgeTwinError(
            'ET_UNAVAILABLE',
            `Device ${opts.deviceId}: connection to ${cfg.url} closed: ${err.message}`,
            { cause: err },
          ),
        );
    });
    session.on('keepalive_failure', () =>
      reportLost(new EdgeTwinError('ET_TIMEOUT', `Device ${opts.deviceId}: ${cfg.url} missed a session keep-alive`)),
    );
    // node-opcua re-creates a session the server ended, but its subscriptions are gone with it:
    // report the loss so the runtime opens a fresh session and subscribes again.
    session.on('session_restored', () =>
      reportLost(new EdgeTwinError('ET_UNAVAILABLE', `Device ${opts.deviceId}: the server ended the session`)),
    );
    session.on('session_closed', () =>
      reportLost(new EdgeTwinError('ET_UNAVAILABLE', `Device ${opts.deviceId}: the server closed the session`)),
    );
    logger.info({ url: cfg.url, securityMode: security.mode, securityPolicy: security.policy }, 'OPC UA session open');
    return { client, session, close, lost: reportLost };
  } catch (err) {
    await close();
    throw err;
  } finally {
    if (timer) clock.clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

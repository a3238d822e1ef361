/**
 * How the cloud hub authenticates nodes.
 *
 * - Join (`POST /v1/join {node, token, csr?}`): the join token must be valid, unused, for this
 *   node name (when bound), and allowed to replace the node's credentials if the node exists.
 *   Over TLS the edge sends a CSR and gets a client certificate signed by cloudcore's CA;
 *   over plain http (loopback and development only) it gets a bearer node token instead.
 * - Renew (`POST /v1/renew {csr}`, TLS only): authenticated by the node's current client
 *   certificate; answers a new certificate for the same node.
 * - Connect (websocket upgrade): over TLS only a live certificate the CA issued to the node is
 *   accepted (bearer tokens are refused); over plain http the bearer node token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { errorMessage, EdgeTwinError } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import { NODE_HEADER } from '@edgetwin/cloud-link';
import { nodeOfCert } from '@edgetwin/cloud-link/pki';

export { NODE_HEADER };
export const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export type AdmitResult =
  { ok: true; nodeToken: string; replaced: boolean } | { ok: false; status: 401 | 403; reason: string };

export interface IssuedNodeCert {
  cert: string;
  serial: string;
  notAfter: number;
}

export interface HubAuth {
  /** Checks and uses up a join token for `node`, giving it new credentials. */
  admitNode(token: string, node: string): AdmitResult;
  /** Plain-http mode: the node's bearer token. */
  authNode(name: string, token: string): boolean;
  /** TLS mode: whether `serial` is a live certificate issued to `node`. */
  authNodeCert(node: string, serial: string): boolean;
  recordCert(node: string, serial: string, notAfter: number): void;
}

/** cloudcore's CA as the hub uses it. */
export interface NodeCertIssuer {
  /** PEM of the CA certificate (trusted for client certificates, sent to joining edges). */
  readonly cert: string;
  /** Verifies the CSR (signature, common name = node) and signs it. */
  issue(node: string, csrPem: string): IssuedNodeCert;
}

export interface NodeIdentity {
  node: string;
  /** When the credential expires (certificates only). */
  expiresAt?: number;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const MAX_BODY = 16 * 1024;

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown> | undefined> {
  let raw = '';
  for await (const c of req) {
    raw += (c as Buffer).toString('utf8');
    if (raw.length > MAX_BODY) {
      json(res, 413, { message: 'request too large' });
      return undefined;
    }
  }
  try {
    const body = JSON.parse(raw) as unknown;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    /* answered below */
  }
  json(res, 400, { message: 'the body must be a JSON object' });
  return undefined;
}

/** The node a TLS client certificate names, if the CA issued it and it is still live. */
export function certIdentity(socket: IncomingMessage['socket'], auth: HubAuth): NodeIdentity | undefined {
  const tls = socket as TLSSocket;
  if (!tls.encrypted || !tls.authorized) return undefined;
  const peer = tls.getPeerX509Certificate();
  const id = peer ? nodeOfCert(peer) : undefined;
  if (!id || !auth.authNodeCert(id.node, id.serial)) return undefined;
  return { node: id.node, expiresAt: id.notAfter };
}

export interface JoinDeps {
  auth: HubAuth;
  issuer: NodeCertIssuer | undefined;
  log: Logger;
  /** Closes the session of a node whose credentials were just replaced. */
  replaced(node: string): void;
}

export async function handleJoin(req: IncomingMessage, res: ServerResponse, d: JoinDeps): Promise<void> {
  const body = await readJson(req, res);
  if (!body) return;
  const { node, token, csr } = body;
  if (typeof node !== 'string' || !NODE_NAME.test(node) || typeof token !== 'string')
    return json(res, 400, { message: 'join needs "node" (a DNS-1123 name) and "token"' });
  let issued: IssuedNodeCert | undefined;
  if (d.issuer) {
    if (typeof csr !== 'string')
      return json(res, 400, {
        message: 'this cloud issues node certificates: the join needs "csr" (a PEM certificate request)',
      });
    try {
      issued = d.issuer.issue(node, csr);
    } catch (err) {
      return json(res, 400, { message: errorMessage(err) });
    }
  }
  const admitted = d.auth.admitNode(token, node);
  if (!admitted.ok) {
    d.log.warn({ node, status: admitted.status, reason: admitted.reason }, 'join refused');
    return json(res, admitted.status, { message: admitted.reason });
  }
  if (admitted.replaced) d.replaced(node);
  d.log.info({ node, replaced: admitted.replaced, certificate: Boolean(issued) }, 'node joined');
  if (!issued || !d.issuer) return json(res, 200, { node, nodeToken: admitted.nodeToken });
  d.auth.recordCert(node, issued.serial, issued.notAfter);
  json(res, 200, { node, certificate: issued.cert, ca: d.issuer.cert });
}

export async function handleRenew(
  req: IncomingMessage,
  res: ServerResponse,
  d: JoinDeps,
  identity: NodeIdentity | undefined,
): Promise<void> {
  if (!d.issuer) return json(res, 404, { message: 'certificates are issued only when cloudcore serves TLS' });
  if (!identity) {
    d.log.warn('certificate renewal refused: no live node certificate');
    return json(res, 401, { message: 'renewal needs the node certificate that is being renewed; join again' });
  }
  const body = await readJson(req, res);
  if (!body) return;
  if (typeof body.csr !== 'string') return json(res, 400, { message: 'renew needs "csr" (a PEM certificate request)' });
  let issued: IssuedNodeCert;
  try {
    issued = d.issuer.issue(identity.node, body.csr);
  } catch (err) {
    if (err instanceof EdgeTwinError) return json(res, 400, { message: err.message });
    throw err;
  }
  d.auth.recordCert(identity.node, issued.serial, issued.notAfter);
  d.log.info({ node: identity.node, notAfter: new Date(issued.notAfter).toISOString() }, 'node certificate renewed');
  json(res, 200, { node: identity.node, certificate: issued.cert, ca: d.issuer.cert });
}

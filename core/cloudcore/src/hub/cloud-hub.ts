/**
 * The cloud hub: an HTTP(S) server where edges join (`POST /v1/join` with a join token, answered
 * with a client certificate over TLS or a per-node token over plain http; see hub-auth.ts) and
 * then open one websocket each (`GET /v1/connect`, upgraded) that authenticates on every
 * connect. The hub pings every session; a session that misses a pong, or whose certificate
 * expired, is closed. A node that connects again replaces its old session.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorMessage } from '@edgetwin/sdk';
import { parseEnvelope, type Envelope } from '@edgetwin/cloud-link';
import type { Logger } from 'pino';
import {
  certIdentity,
  handleJoin,
  handleRenew,
  json,
  NODE_HEADER,
  type HubAuth,
  type JoinDeps,
  type NodeCertIssuer,
  type NodeIdentity,
} from './hub-auth.js';

export { NODE_HEADER, type HubAuth, type NodeCertIssuer } from './hub-auth.js';

export interface HubSession {
  readonly node: string;
  readonly address: string;
  send(e: Envelope): boolean;
  close(code?: number, reason?: string): void;
}

export interface HubHandler {
  connected(s: HubSession): void;
  message(s: HubSession, e: Envelope): void;
  disconnected(s: HubSession): void;
}

export interface CloudHubOptions {
  host?: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** With `tls`: edges join with a CSR and authenticate with a client certificate from this CA. */
  nodeCa?: NodeCertIssuer;
  keepaliveMs?: number;
  auth: HubAuth;
  handler: HubHandler;
  logger: Logger;
  /** Prometheus text for `GET /metrics`. */
  metrics?: () => string;
}

class Session implements HubSession {
  alive = true;
  constructor(
    readonly node: string,
    readonly address: string,
    readonly ws: WebSocket,
    /** When the node's certificate expires (TLS mode). */
    readonly expiresAt: number | undefined,
  ) {}
  send(e: Envelope): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(JSON.stringify(e));
    return true;
  }
  close(code = 1000, reason = ''): void {
    this.ws.close(code, reason);
  }
}

export class CloudHub {
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  private readonly sessions = new Map<string, Session>();
  private pinger: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly joinDeps: JoinDeps;
  /** Whether nodes authenticate with client certificates (TLS and a CA) rather than bearer tokens. */
  readonly certificates: boolean;

  constructor(private readonly opts: CloudHubOptions) {
    this.log = opts.logger.child({ module: 'cloud-hub' });
    this.certificates = Boolean(opts.tls && opts.nodeCa);
    this.joinDeps = {
      auth: opts.auth,
      issuer: this.certificates ? opts.nodeCa : undefined,
      log: this.log,
      replaced: (node) => this.sessions.get(node)?.close(4001, 'node credentials replaced by a new join'),
    };
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.opts.port;
  }

  connectedNodes(): string[] {
    return [...this.sessions.keys()];
  }

  session(node: string): HubSession | undefined {
    return this.sessions.get(node);
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.http(req, res);
    const tls = this.opts.tls;
    const server = tls
      ? createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            // Client certificates are asked for and checked against the node CA; an edge without
            // one (joining) still gets through the handshake, and each route decides.
            ...(this.certificates ? { requestCert: true, rejectUnauthorized: false, ca: this.opts.nodeCa!.cert } : {}),
          },
          handler,
        )
      : createHttpServer(handler);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.pinger = setInterval(() => this.ping(), this.opts.keepaliveMs ?? 15_000);
    this.log.info(
      { port: this.port, tls: Boolean(this.opts.tls), nodeAuth: this.certificates ? 'certificate' : 'token' },
      'cloud hub listening',
    );
    if (!this.opts.tls)
      this.log.warn(
        'serving plain http: join tokens and node tokens cross the network in clear; give --tls-cert/--tls-key so that nodes get client certificates',
      );
  }

  async stop(): Promise<void> {
    clearInterval(this.pinger);
    for (const s of this.sessions.values()) s.ws.terminate();
    this.sessions.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private ping(): void {
    const now = Date.now();
    for (const s of this.sessions.values()) {
      if (s.expiresAt !== undefined && s.expiresAt <= now) {
        this.log.info({ node: s.node }, 'node certificate expired; closing its session');
        s.close(4001, 'node certificate expired');
        continue;
      }
      if (!s.alive) {
        this.log.info({ node: s.node }, 'no pong within the keepalive interval; closing');
        s.ws.terminate();
        continue;
      }
      s.alive = false;
      s.ws.ping();
    }
  }

  private async http(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method === 'GET' && req.url === '/healthz')
        return json(res, 200, { ok: true, nodes: this.sessions.size });
      if (req.method === 'GET' && req.url === '/metrics' && this.opts.metrics) {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.opts.metrics());
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/join') return await handleJoin(req, res, this.joinDeps);
      if (req.method === 'POST' && req.url === '/v1/renew')
        return await handleRenew(req, res, this.joinDeps, certIdentity(req.socket, this.opts.auth));
      return json(res, 404, { message: 'not found; edges use POST /v1/join and GET /v1/connect' });
    } catch (err) {
      this.log.error({ err: errorMessage(err), url: req.url }, 'request failed');
      if (!res.headersSent) json(res, 500, { message: 'request failed; see the cloudcore log' });
    }
  }

  /** Who is connecting: a live node certificate over TLS, the bearer node token over plain http. */
  private identify(req: IncomingMessage): NodeIdentity | undefined {
    if (this.certificates) return certIdentity(req.socket, this.opts.auth);
    const node = req.headers[NODE_HEADER];
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    return typeof node === 'string' && token && this.opts.auth.authNode(node, token) ? { node } : undefined;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const identity = req.url === '/v1/connect' ? this.identify(req) : undefined;
    if (!identity) {
      const claimed = req.headers[NODE_HEADER];
      this.log.warn({ node: claimed, url: req.url }, 'websocket refused: node not authenticated');
      const what = this.certificates ? 'a node certificate issued by this cloud' : 'a valid node token';
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthe connection needs ${what}; join again with a join token\n`,
      );
      return;
    }
    const node = identity.node;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const address = req.socket.remoteAddress ?? '';
      const old = this.sessions.get(node);
      if (old) {
        this.sessions.delete(node);
        old.ws.close(4000, 'replaced by a newer connection');
        this.opts.handler.disconnected(old);
      }
      const s = new Session(node, address, ws, identity.expiresAt);
      this.sessions.set(node, s);
      ws.on('pong', () => (s.alive = true));
      ws.on('message', (data: Buffer) => {
        s.alive = true;
        const e = parseEnvelope(data.toString('utf8'));
        if (!e) {
          this.log.warn({ node }, 'dropped a frame that is not an envelope');
          return;
        }
        this.opts.handler.message(s, e);
      });
      ws.on('close', () => {
        if (this.sessions.get(node) !== s) return;
        this.sessions.delete(node);
        this.opts.handler.disconnected(s);
      });
      ws.on('error', (err) => this.log.warn({ node, err: err.message }, 'websocket error'));
      this.opts.handler.connected(s);
    });
  }
}

/**
 * The cloud hub: an HTTP(S) server where edges join (`POST /v1/join` with a join token, answered
 * with a per-node token) and then open one websocket each (`GET /v1/connect`, upgraded) that
 * authenticates with the node token on every connect. The hub pings every session; a session
 * that misses a pong is closed. A node that connects again replaces its old session.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorMessage } from '@edgetwin/sdk';
import { parseEnvelope, type Envelope } from '@edgetwin/device-twin/cloud-sync';
import type { Logger } from 'pino';

export const NODE_HEADER = 'x-edgetwin-node';
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export interface HubAuth {
  checkJoinToken(token: string): boolean;
  registerNode(name: string): string;
  authNode(name: string, token: string): boolean;
}

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

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export class CloudHub {
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  private readonly sessions = new Map<string, Session>();
  private pinger: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: CloudHubOptions) {
    this.log = opts.logger.child({ module: 'cloud-hub' });
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
    const server = this.opts.tls
      ? createHttpsServer({ cert: this.opts.tls.cert, key: this.opts.tls.key }, handler)
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
    this.log.info({ port: this.port, tls: Boolean(this.opts.tls) }, 'cloud hub listening');
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
    for (const s of this.sessions.values()) {
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
      if (req.method !== 'POST' || req.url !== '/v1/join')
        return json(res, 404, { message: 'not found; edges use POST /v1/join and GET /v1/connect' });
      let raw = '';
      for await (const c of req) {
        raw += (c as Buffer).toString('utf8');
        if (raw.length > 4096) return json(res, 413, { message: 'join request too large' });
      }
      let body: { node?: unknown; token?: unknown };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        return json(res, 400, { message: 'join body must be JSON {"node": "...", "token": "..."}' });
      }
      if (typeof body.node !== 'string' || !NODE_NAME.test(body.node) || typeof body.token !== 'string') {
        return json(res, 400, { message: 'join needs "node" (a DNS-1123 name) and "token"' });
      }
      if (!this.opts.auth.checkJoinToken(body.token)) {
        this.log.warn({ node: body.node }, 'join refused: unknown or expired join token');
        return json(res, 401, {
          message: 'join token unknown or expired; create one with `edgetwin cloud token create`',
        });
      }
      const nodeToken = this.opts.auth.registerNode(body.node);
      this.log.info({ node: body.node }, 'node joined');
      json(res, 200, { node: body.node, nodeToken });
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'join failed');
      if (!res.headersSent) json(res, 500, { message: 'join failed; see the cloudcore log' });
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const node = req.headers[NODE_HEADER];
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (req.url !== '/v1/connect' || typeof node !== 'string' || !token || !this.opts.auth.authNode(node, token)) {
      this.log.warn({ node, url: req.url }, 'websocket refused: node not authenticated');
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nnode token not accepted; join again with a join token\n',
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const address = req.socket.remoteAddress ?? '';
      const old = this.sessions.get(node);
      if (old) {
        this.sessions.delete(node);
        old.ws.close(4000, 'replaced by a newer connection');
        this.opts.handler.disconnected(old);
      }
      const s = new Session(node, address, ws);
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

/**
 * The edge hub: dials the cloud hub (edges sit behind NAT), joins once with the join token and
 * keeps the per-node token it gets in the edge data dir, then authenticates every reconnect with
 * it. Reconnects with backoff; closes and redials a connection that stays silent for three
 * keepalive intervals; sends a heartbeat every interval.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import { Backoff, EdgeTwinError, errorMessage, sleep } from '@edgetwin/sdk';
import { envelope, parseEnvelope, type Envelope, type HeartbeatContent } from '@edgetwin/device-twin/cloud-sync';
import type { Logger } from 'pino';
import { NODE_HEADER } from './cloud-hub.js';

export interface TokenStore {
  getMeta(k: string): string | undefined;
  setMeta(k: string, v: string): void;
}

export interface EdgeHubHandler {
  connected(send: (e: Envelope) => boolean): void;
  message(e: Envelope): void;
  disconnected(): void;
  deviceCount(): number;
}

export interface EdgeHubOptions {
  /** Base URL of cloudcore: http(s)://host:port or ws(s)://host:port. */
  url: string;
  nodeName: string;
  /** Join token; needed only until the node has its own token. */
  joinToken?: string;
  /** Extra CA certificates (PEM) for a cloudcore with a private CA. */
  ca?: string | Buffer;
  keepaliveMs?: number;
  tokens: TokenStore;
  handler: EdgeHubHandler;
  logger: Logger;
}

const TOKEN_KEY = 'nodeToken';

function baseUrls(url: string): { http: URL; ws: URL } {
  const u = new URL(url);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  const http = new URL(u.toString());
  http.protocol = secure ? 'https:' : 'http:';
  const ws = new URL(u.toString());
  ws.protocol = secure ? 'wss:' : 'ws:';
  return { http, ws };
}

export class EdgeHub {
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private ws: WebSocket | undefined;
  private connectedFlag = false;
  /** Connections made so far (for tests and metrics). */
  connects = 0;
  /** Why the last attempt failed, until a connection opens. */
  lastError: string | undefined;

  constructor(private readonly opts: EdgeHubOptions) {
    this.log = opts.logger.child({ module: 'edge-hub', node: opts.nodeName });
  }

  get connected(): boolean {
    return this.connectedFlag;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.ws?.terminate();
    await this.loop;
  }

  private async join(): Promise<string> {
    const existing = this.opts.tokens.getMeta(TOKEN_KEY);
    if (existing) return existing;
    if (!this.opts.joinToken) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        'this edge has not joined the cloud yet; pass --token with a token from `edgetwin cloud token create`',
      );
    }
    const url = new URL('/v1/join', baseUrls(this.opts.url).http);
    const body = JSON.stringify({ node: this.opts.nodeName, token: this.opts.joinToken });
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(10_000)]),
          ...(this.opts.ca ? { ca: this.opts.ca } : {}),
        },
        (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    if (status !== 200) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        /* plain text */
      }
      throw new EdgeTwinError(
        status === 401 ? 'ET_CONFIG_INVALID' : 'ET_UNAVAILABLE',
        `cloud refused the join of node ${this.opts.nodeName}: ${status} ${message}`,
        {
          details: { status },
        },
      );
    }
    const token = (JSON.parse(text) as { nodeToken: string }).nodeToken;
    this.opts.tokens.setMeta(TOKEN_KEY, token);
    this.log.info('joined the cloud; node token stored');
    return token;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 15_000 });
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const token = await this.join();
        const opened = await this.session(token);
        if (opened) backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        this.lastError = errorMessage(err);
        this.log.warn({ err: this.lastError }, 'cloud link failed; retrying');
      }
      await sleep(backoff.next(), signal).catch(() => undefined);
    }
  }

  /** One websocket session; resolves when it closes. Returns whether it opened. */
  private session(token: string): Promise<boolean> {
    const keepalive = this.opts.keepaliveMs ?? 15_000;
    const url = new URL('/v1/connect', baseUrls(this.opts.url).ws);
    return new Promise((resolve) => {
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${token}`, [NODE_HEADER]: this.opts.nodeName },
        handshakeTimeout: 10_000,
        maxPayload: 64 * 1024 * 1024,
        ...(this.opts.ca ? { ca: this.opts.ca } : {}),
      });
      this.ws = ws;
      let opened = false;
      let lastSeen = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const send = (e: Envelope): boolean => {
        if (ws.readyState !== WebSocket.OPEN) return false;
        ws.send(JSON.stringify(e));
        return true;
      };
      ws.on('unexpected-response', (_req, res) => {
        if (res.statusCode === 401) {
          this.log.warn('the cloud refused the node token; joining again');
          this.opts.tokens.setMeta(TOKEN_KEY, '');
        }
        ws.terminate();
      });
      ws.on('open', () => {
        opened = true;
        this.lastError = undefined;
        this.connects++;
        this.connectedFlag = true;
        this.log.info('connected to the cloud');
        timer = setInterval(() => {
          if (Date.now() - lastSeen > 3 * keepalive) {
            this.log.warn('cloud silent for three keepalive intervals; reconnecting');
            ws.terminate();
            return;
          }
          send(
            envelope<HeartbeatContent>('edge', 'hub', 'heartbeat', 'node', {
              devices: this.opts.handler.deviceCount(),
            }),
          );
        }, keepalive);
        this.opts.handler.connected(send);
      });
      ws.on('ping', () => (lastSeen = Date.now()));
      ws.on('message', (data: Buffer) => {
        lastSeen = Date.now();
        const e = parseEnvelope(data.toString('utf8'));
        if (e) this.opts.handler.message(e);
      });
      ws.on('error', (err) => this.log.debug({ err: err.message }, 'websocket error'));
      ws.on('close', () => {
        clearInterval(timer);
        if (this.ws === ws) this.ws = undefined;
        if (opened) {
          this.connectedFlag = false;
          this.log.info('disconnected from the cloud');
          this.opts.handler.disconnected();
        }
        resolve(opened);
      });
    });
  }
}

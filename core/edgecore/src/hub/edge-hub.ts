/**
 * The edge hub: dials the cloud hub (edges sit behind NAT) and joins once with the join token.
 * Over TLS (an https:// or wss:// URL) it generates a key, sends a CSR with the join, keeps the
 * client certificate cloudcore's CA issues (NodeCredentials, `cloud-pki/` in the edge data dir),
 * connects with it, and renews it over the authenticated link at 80 % of its lifetime, then
 * redials with the new one. Over plain http it keeps the per-node bearer token it gets instead.
 * Reconnects with backoff; closes and redials a connection that stays silent for three keepalive
 * intervals; sends a heartbeat every interval.
 */
import WebSocket from 'ws';
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { Backoff, sleep } from '@edgetwin/sdk/util';
import { envelope, parseEnvelope, type Envelope, type HeartbeatContent } from '@edgetwin/cloud-link';
import type { Logger } from 'pino';
import { NODE_HEADER } from '@edgetwin/cloud-link';
import { hubUrls, postJson, stringField, type HubUrls } from './edge-join.js';
import { NodeCredentials, type NodeCert } from './node-credentials.js';

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
  /** Where the node certificate is kept (TLS mode). */
  credentials: NodeCredentials;
  handler: EdgeHubHandler;
  logger: Logger;
}

const TOKEN_KEY = 'nodeToken';
const MAX_TIMER_MS = 2 ** 31 - 1;

type Credential = { kind: 'token'; token: string } | { kind: 'cert'; cert: NodeCert };

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
  /** Node certificates renewed so far (TLS mode). */
  renewals = 0;
  private readonly urls: HubUrls;

  constructor(private readonly opts: EdgeHubOptions) {
    this.log = opts.logger.child({ module: 'edge-hub', node: opts.nodeName });
    this.urls = hubUrls(opts.url);
  }

  /** The node certificate in use (TLS mode). */
  get certificate(): NodeCert | undefined {
    return this.urls.secure ? this.opts.credentials.load() : undefined;
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

  private notJoined(why: string): EdgeTwinError {
    return new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `${why}; give a join token (--token-file or EDGETWIN_JOIN_TOKEN) from \`edgetwin cloud token create --node ${this.opts.nodeName}\``,
    );
  }

  private async join(): Promise<Credential> {
    const what = `cloud refused the join of node ${this.opts.nodeName}`;
    const url = new URL('/v1/join', this.urls.http);
    const tls = this.opts.ca ? { ca: this.opts.ca } : {};
    if (this.urls.secure) {
      const held = this.opts.credentials.load();
      if (held && held.node === this.opts.nodeName && held.notAfter > Date.now()) return { kind: 'cert', cert: held };
      if (!this.opts.joinToken)
        throw this.notJoined(
          held
            ? `the node certificate expired at ${new Date(held.notAfter).toISOString()}`
            : 'this edge has not joined the cloud yet',
        );
      const { key, csr } = this.opts.credentials.request(this.opts.nodeName);
      const answer = await postJson(
        url,
        { node: this.opts.nodeName, token: this.opts.joinToken, csr },
        tls,
        this.abort.signal,
        what,
      );
      const cert = this.opts.credentials.save(
        key,
        stringField(answer, 'certificate', what),
        answer.ca as string | undefined,
      );
      this.log.info({ notAfter: new Date(cert.notAfter).toISOString() }, 'joined the cloud; node certificate stored');
      return { kind: 'cert', cert };
    }
    const existing = this.opts.tokens.getMeta(TOKEN_KEY);
    if (existing) return { kind: 'token', token: existing };
    if (!this.opts.joinToken) throw this.notJoined('this edge has not joined the cloud yet');
    const answer = await postJson(
      url,
      { node: this.opts.nodeName, token: this.opts.joinToken },
      tls,
      this.abort.signal,
      what,
    );
    const token = stringField(answer, 'nodeToken', what);
    this.opts.tokens.setMeta(TOKEN_KEY, token);
    this.log.info('joined the cloud; node token stored');
    return { kind: 'token', token };
  }

  /** Asks for a new certificate over the authenticated link; resolves with it once it is stored. */
  private async renew(current: NodeCert): Promise<NodeCert> {
    const what = `cloud refused to renew the certificate of node ${this.opts.nodeName}`;
    const { key, csr } = this.opts.credentials.request(this.opts.nodeName);
    const answer = await postJson(
      new URL('/v1/renew', this.urls.http),
      { csr },
      { ...(this.opts.ca ? { ca: this.opts.ca } : {}), cert: current.cert, key: current.key },
      this.abort.signal,
      what,
    );
    const cert = this.opts.credentials.save(
      key,
      stringField(answer, 'certificate', what),
      answer.ca as string | undefined,
    );
    this.renewals++;
    this.log.info({ notAfter: new Date(cert.notAfter).toISOString() }, 'node certificate renewed');
    return cert;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 15_000 });
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const credential = await this.join();
        const opened = await this.session(credential);
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
  private session(credential: Credential): Promise<boolean> {
    const keepalive = this.opts.keepaliveMs ?? 15_000;
    const url = new URL('/v1/connect', this.urls.ws);
    return new Promise((resolve) => {
      const ws = new WebSocket(url, {
        headers:
          credential.kind === 'token'
            ? { authorization: `Bearer ${credential.token}`, [NODE_HEADER]: this.opts.nodeName }
            : { [NODE_HEADER]: this.opts.nodeName },
        handshakeTimeout: 10_000,
        maxPayload: 64 * 1024 * 1024,
        ...(this.opts.ca ? { ca: this.opts.ca } : {}),
        ...(credential.kind === 'cert' ? { cert: credential.cert.cert, key: credential.cert.key } : {}),
      });
      this.ws = ws;
      let opened = false;
      let lastSeen = Date.now();
      let timer: NodeJS.Timeout | undefined;
      let renewTimer: NodeJS.Timeout | undefined;
      // At 80 % of the certificate's lifetime: a new one over the authenticated link, then redial with it.
      const scheduleRenewal = (cert: NodeCert, atMs: number) => {
        const wait = Math.max(0, atMs - Date.now());
        // Timers hold at most 2^31-1 ms (24.8 days); a year-long certificate waits in steps.
        if (wait > MAX_TIMER_MS) {
          renewTimer = setTimeout(() => scheduleRenewal(cert, atMs), MAX_TIMER_MS);
          return;
        }
        renewTimer = setTimeout(() => {
          this.renew(cert).then(
            () => ws.close(1000, 'node certificate renewed'),
            (err: unknown) => {
              if (this.abort.signal.aborted) return;
              const retryMs = Math.min(MAX_TIMER_MS, Math.max(1000, (cert.notAfter - Date.now()) / 10));
              this.log.warn({ err: errorMessage(err), retryMs }, 'certificate renewal failed; retrying');
              scheduleRenewal(cert, Date.now() + retryMs);
            },
          );
        }, wait);
      };
      const send = (e: Envelope): boolean => {
        if (ws.readyState !== WebSocket.OPEN) return false;
        ws.send(JSON.stringify(e));
        return true;
      };
      ws.on('unexpected-response', (_req, res) => {
        if (res.statusCode === 401) {
          this.log.warn(
            `the cloud refused the node ${credential.kind === 'cert' ? 'certificate' : 'token'}; joining again`,
          );
          if (credential.kind === 'cert') this.opts.credentials.clear();
          else this.opts.tokens.setMeta(TOKEN_KEY, '');
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
        if (credential.kind === 'cert') scheduleRenewal(credential.cert, NodeCredentials.renewAt(credential.cert));
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
        clearTimeout(renewTimer);
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

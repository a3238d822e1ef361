/**
 * A gRPC client for the DMI services over `node:http2` on a unix socket: unary calls only (DMI has
 * no streaming method). One persistent HTTP/2 session; a call finding it closed (the peer stopped
 * or restarted) opens a new one. Each call is one HTTP/2 stream: POST `/v1beta1.<Service>/<Method>`
 * with `content-type: application/grpc`, `te: trailers` and `grpc-timeout` from its deadline, the
 * request in one length-prefixed frame; the answer's status comes from its trailers (or from its
 * headers when the server answers trailers-only). Failures are GrpcErrors with a numeric `code`
 * and `details`, as grpc-js's ServiceError; a peer that cannot be reached is UNAVAILABLE.
 * With a `token`, every call carries `authorization: Bearer <token>` (sent as a never-indexed
 * HTTP/2 header, so it does not sit in HPACK tables).
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import net from 'node:net';
import { DMI_CODEC, DMI_PACKAGE, DMI_SERVICES, type DmiMethod, type DmiService } from './schema.js';
import { DMI_AUTHORIZATION } from './auth.js';
import { GrpcError, Status, decodeGrpcMessage, encodeTimeout, frame, statusFromHttp, unframe } from './grpc-status.js';

/** Largest answer accepted (grpc-js's default receive limit is 4 MiB; a registration of a big node can exceed it). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Streams open at once when the server names no limit (RFC 9113 suggests at least 100). */
const DEFAULT_STREAM_LIMIT = 100;
/** Streams open at once at most, whatever the server allows. */
const MAX_STREAMS = 1000;

export interface DmiClientOptions<S extends DmiService> {
  /** The server's unix socket path. */
  socketPath: string;
  service: S;
  /** Deadline of a call that gives none (default 10 s). */
  timeoutMs?: number;
  /**
   * The bearer token sent with every call, or a function giving the current one (read at each
   * call; undefined sends none).
   */
  token?: string | (() => string | undefined);
  /**
   * Calls that may wait for a stream (default 1024). One more fails at once with
   * RESOURCE_EXHAUSTED. Without a bound, a caller that offers more than the server takes queues
   * calls that have spent their deadline waiting by the time they are sent: every call then
   * fails, and nothing gets through (a real mapper's periodic reports under overload). With it, what
   * waits gets through in time, and what cannot is refused at once (the next report carries a
   * newer value anyway).
   */
  maxQueued?: number;
}

/** Calls waiting for a stream at most (see DmiClientOptions.maxQueued). */
const DEFAULT_MAX_QUEUED = 1024;

export class DmiClient<S extends DmiService> {
  private session: ClientHttp2Session | undefined;
  private connectedSession: ClientHttp2Session | undefined;
  /** Why the current session failed to connect or broke (for the UNAVAILABLE details). */
  private sessionError: Error | undefined;
  private readonly listeners = new Set<() => void>();
  private closed = false;
  /** Streams open now, calls waiting for one, and the server's limit (see `limit`). */
  private active = 0;
  private streamLimit = DEFAULT_STREAM_LIMIT;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly opts: DmiClientOptions<S>) {}

  get socketPath(): string {
    return this.opts.socketPath;
  }

  /** True while a session to the server is connected (it has not closed or been told to go away). */
  get connected(): boolean {
    return this.connectedSession !== undefined;
  }

  /** Called once each time a connected session closes or is told to go away (the server stopped). */
  onDisconnect(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** True when a session is or gets connected within `timeoutMs` (the server accepts connections). */
  ready(timeoutMs = 1000): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.connected) return Promise.resolve(true);
    const session = this.currentSession();
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        session.off('connect', onConnect);
        session.off('close', onClose);
        resolve(ok);
      };
      const onConnect = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      session.once('connect', onConnect);
      session.once('close', onClose);
    });
  }

  /** Calls a unary method; resolves with the decoded answer or rejects with a GrpcError. */
  call<Res>(method: DmiMethod<S>, req: object, timeoutMs = this.opts.timeoutMs ?? 10_000): Promise<Res> {
    const types = (DMI_SERVICES[this.opts.service] as Record<string, readonly [string, string]>)[method];
    if (!types)
      return Promise.reject(new GrpcError(Status.UNIMPLEMENTED, `${this.opts.service} has no method ${method}`));
    if (this.closed) return Promise.reject(new GrpcError(Status.UNAVAILABLE, `${method}: the DMI client is closed`));
    let body: Buffer;
    try {
      body = frame(DMI_CODEC.encode(types[0], req));
    } catch (err) {
      return Promise.reject(
        new GrpcError(Status.INTERNAL, `${method}: cannot encode the request: ${String(err)}`, { cause: err }),
      );
    }
    return new Promise<Res>((resolve, reject) => {
      let stream: ClientHttp2Stream | undefined;
      let settled = false;
      const settle = (err: GrpcError | undefined, res?: Res) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res as Res);
      };
      // The deadline counts from the call, time waiting for a stream included.
      const deadlineAt = performance.now() + timeoutMs;
      const timer = setTimeout(() => {
        settle(new GrpcError(Status.DEADLINE_EXCEEDED, `${method}: no answer within the deadline of ${timeoutMs} ms`));
        stream?.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      this.acquire(method).then(
        () => {
          if (settled || this.closed) {
            this.release();
            settle(new GrpcError(Status.UNAVAILABLE, `${method}: the DMI client is closed`));
            return;
          }
          try {
            // The server learns the time left, not the whole deadline: some of it went waiting for a stream.
            const left = Math.max(1, deadlineAt - performance.now());
            stream = this.currentSession().request(this.headers(method, left), { endStream: false });
          } catch (err) {
            this.release();
            settle(new GrpcError(Status.UNAVAILABLE, `${method}: ${this.unreachable(err)}`, { cause: err }));
            return;
          }
          stream.once('close', () => this.release());
          this.readAnswer(stream, method, types[1], settle);
          stream.end(body);
        },
        (err: unknown) => settle(err as GrpcError),
      );
    });
  }

  private headers(method: string, timeoutMs: number): http2.OutgoingHttpHeaders {
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': `/${DMI_PACKAGE}.${this.opts.service}/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': encodeTimeout(timeoutMs),
    };
    const t = this.opts.token;
    const token = typeof t === 'function' ? t() : t;
    if (token !== undefined) {
      headers[DMI_AUTHORIZATION] = `Bearer ${token}`;
      (headers as Record<symbol, unknown>)[http2.sensitiveHeaders] = [DMI_AUTHORIZATION];
    }
    return headers;
  }

  /**
   * Streams open at once: at most the server's SETTINGS_MAX_CONCURRENT_STREAMS (edgecore's DMI
   * server sends 256), and one while a new session waits for them. A call beyond it waits here, in
   * order, instead of being refused by the server (node's HTTP/2 client does not queue: a stream
   * over the server's limit is reset with REFUSED_STREAM).
   */
  private limit(): number {
    return Math.max(1, Math.min(this.streamLimit, MAX_STREAMS));
  }

  private acquire(method: string): Promise<void> {
    if (!this.closed) this.currentSession(); // a new session starts at one stream (see limit)
    if (this.active < this.limit()) {
      this.active++;
      return Promise.resolve();
    }
    const maxQueued = this.opts.maxQueued ?? DEFAULT_MAX_QUEUED;
    if (this.waiting.length >= maxQueued) {
      return Promise.reject(
        new GrpcError(
          Status.RESOURCE_EXHAUSTED,
          `${method}: the server is not keeping up: ${this.active} calls are open and ${this.waiting.length} wait for a stream`,
        ),
      );
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.active++;
        resolve();
      }),
    );
  }

  private release(): void {
    this.active--;
    this.drain();
  }

  private drain(): void {
    while (this.waiting.length > 0 && this.active < this.limit()) this.waiting.shift()!();
  }

  /** Closes the session; calls in flight finish, later calls fail with UNAVAILABLE. */
  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }

  private readAnswer<Res>(
    stream: ClientHttp2Stream,
    method: string,
    resType: string,
    settle: (err: GrpcError | undefined, res?: Res) => void,
  ): void {
    const chunks: Buffer[] = [];
    let received = 0;
    let httpStatus = 0;
    let code: number | undefined;
    let details = '';
    let streamError: Error | undefined;
    const status = (h: IncomingHttpHeaders) => {
      if (h['grpc-status'] === undefined) return;
      code = Number(h['grpc-status']);
      details = decodeGrpcMessage(String(h['grpc-message'] ?? ''));
    };
    stream.on('response', (h) => {
      httpStatus = Number(h[':status']);
      status(h); // trailers-only answer
    });
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_RESPONSE_BYTES) {
        settle(new GrpcError(Status.RESOURCE_EXHAUSTED, `${method}: answer larger than ${MAX_RESPONSE_BYTES} bytes`));
        stream.close(http2.constants.NGHTTP2_CANCEL);
      } else chunks.push(chunk);
    });
    stream.on('trailers', status);
    stream.on('error', (err: Error) => {
      streamError = err;
    });
    stream.on('close', () => {
      if (code === undefined) {
        settle(this.noStatus(method, httpStatus, stream.rstCode, streamError));
      } else if (code !== Status.OK) {
        settle(new GrpcError(code as Status, details || `${method} failed`));
      } else {
        try {
          settle(undefined, DMI_CODEC.decode(resType, unframe(chunks, `${method} answer`)) as Res);
        } catch (err) {
          settle(
            err instanceof GrpcError
              ? err
              : new GrpcError(Status.INTERNAL, `${method} answer: ${String(err)}`, { cause: err }),
          );
        }
      }
    });
  }

  /** Why a stream ended without a grpc-status. */
  private noStatus(method: string, httpStatus: number, rstCode: number | undefined, err: Error | undefined): GrpcError {
    if (httpStatus !== 0 && httpStatus !== 200)
      return new GrpcError(statusFromHttp(httpStatus), `${method}: HTTP status ${httpStatus} without a gRPC status`);
    if (rstCode === http2.constants.NGHTTP2_CANCEL)
      return new GrpcError(Status.CANCELLED, `${method}: the call was cancelled`);
    if (httpStatus === 200)
      return new GrpcError(
        Status.INTERNAL,
        `${method}: the answer ended without a gRPC status (stream reset ${rstCode ?? '-'})`,
      );
    return new GrpcError(Status.UNAVAILABLE, `${method}: ${this.unreachable(err)}`, { cause: err });
  }

  private unreachable(err: unknown): string {
    const why = this.sessionError ?? err;
    const text = why instanceof Error ? why.message : why === undefined ? '' : JSON.stringify(why);
    return `${this.opts.socketPath} is not reachable${text ? `: ${text}` : ''}`;
  }

  /** The open session, or a new one when there is none or it closed or was told to go away. */
  private currentSession(): ClientHttp2Session {
    const open = this.session;
    if (open && !open.closed && !open.destroyed) return open;
    this.sessionError = undefined;
    const session = http2.connect('http://localhost', {
      createConnection: () => net.connect(this.opts.socketPath),
    });
    session.unref(); // only calls in flight (their deadline timers) keep the process alive
    const gone = () => {
      if (this.session === session) this.session = undefined;
      if (this.connectedSession !== session) return;
      this.connectedSession = undefined;
      for (const fn of [...this.listeners]) fn();
    };
    session.on('connect', () => {
      if (this.session === session && !this.closed) this.connectedSession = session;
    });
    session.on('error', (err: Error) => {
      if (this.session === session) this.sessionError = err;
    });
    session.on('remoteSettings', (settings: http2.Settings) => {
      if (this.session !== session) return;
      this.streamLimit = settings.maxConcurrentStreams ?? DEFAULT_STREAM_LIMIT;
      this.drain();
    });
    session.on('goaway', gone);
    session.on('close', gone);
    this.session = session;
    this.streamLimit = 1; // one stream until the server's SETTINGS say how many it takes
    return session;
  }
}

/**
 * A gRPC server for one DMI service over `node:http2` on a unix socket, unary methods only. Routes
 * `/v1beta1.<Service>/<Method>` to its handler, decodes the request (one length-prefixed frame),
 * and answers with the encoded result and `grpc-status: 0` in trailers. A method without a handler
 * answers UNIMPLEMENTED; a handler that throws an error carrying a numeric gRPC `code` (a
 * GrpcError) answers that status with its `details`, any other error UNKNOWN; a request that is not
 * one valid frame INTERNAL. Errors go trailers-only (status in the response headers), as grpc-js's.
 * Deadlines (`grpc-timeout`): a call whose deadline has passed by the time its request is read
 * answers DEADLINE_EXCEEDED without running its handler (under overload the server then spends
 * its time on calls someone still waits for); a handler is not cut short, and an answer to a call
 * the client abandoned is dropped.
 * An optional `authenticate` hook sees each call's metadata (its HTTP/2 headers) before the request
 * is read: it names the caller, which the handler gets, or throws a GrpcError (e.g.
 * UNAUTHENTICATED) that answers the call without decoding its request or running its handler.
 */
import http2, {
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { DMI_CODEC, DMI_PACKAGE, DMI_SERVICES, type DmiMethod, type DmiService } from './schema.js';
import { GrpcError, Status, decodeTimeout, encodeGrpcMessage, frame, statusOf, unframe } from './grpc-status.js';

/** What a handler knows about its call besides the request: the method, the metadata and the caller. */
export interface DmiCall<C> {
  method: string;
  metadata: IncomingHttpHeaders;
  /** What `authenticate` returned (undefined without the hook). */
  caller: C;
}

/** A unary handler: the decoded request in, the answer (or its promise) out. */
export type UnaryHandler<C = undefined> = (req: never, call: DmiCall<C>) => object | Promise<object>;

export interface DmiGrpcServerOptions<S extends DmiService, C = undefined> {
  service: S;
  handlers: Partial<Record<DmiMethod<S>, UnaryHandler<C>>>;
  /**
   * Runs on each call to a served method, before its request is read: returns who calls, or throws
   * (a GrpcError's code and details answer the call; the handler never runs).
   */
  authenticate?: (metadata: IncomingHttpHeaders, method: string) => C;
  /** Told about each call answered with UNKNOWN or INTERNAL (a bug or bad input worth a log line). */
  onError?: (method: string, code: Status, details: string) => void;
  /** How long `close()` lets calls in flight finish before dropping their sessions (default 2000 ms). */
  closeGraceMs?: number;
  /**
   * Calls one client may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, default 256).
   * A client beyond it waits for an answer before opening another stream (grpc-js and grpc-go queue;
   * so does the sdk's DmiClient), so a flood is held at the clients instead of piling up here.
   */
  maxConcurrentStreams?: number;
}

interface Route<C> {
  method: string;
  reqType: string;
  resType: string;
  handler: UnaryHandler<C> | undefined;
}

const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc' } as const;
const OK_TRAILERS = { 'grpc-status': '0' } as const;

export class DmiGrpcServer<S extends DmiService, C = undefined> {
  private server: Http2Server | undefined;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly routes = new Map<string, Route<C>>();

  constructor(private readonly opts: DmiGrpcServerOptions<S, C>) {
    const methods = DMI_SERVICES[opts.service] as Record<string, readonly [string, string]>;
    for (const [method, [reqType, resType]] of Object.entries(methods)) {
      const handler = (opts.handlers as Record<string, UnaryHandler<C> | undefined>)[method];
      this.routes.set(`/${DMI_PACKAGE}.${opts.service}/${method}`, { method, reqType, resType, handler });
    }
  }

  /** Listens on a unix socket path (the caller removes a stale socket file first). */
  async listen(socketPath: string): Promise<void> {
    const server = http2.createServer({ settings: { maxConcurrentStreams: this.opts.maxConcurrentStreams ?? 256 } });
    server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => undefined); // a peer gone mid-write: its streams close, nothing to do
    });
    server.on('stream', (stream, headers) => this.onStream(stream, headers));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /**
   * Stops listening and tells every client to go away (HTTP/2 GOAWAY); calls in flight may finish
   * within the grace period, then the remaining sessions are dropped.
   */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sessions) s.close();
    const grace = setTimeout(() => {
      for (const s of this.sessions) s.destroy();
    }, this.opts.closeGraceMs ?? 2000);
    await closed;
    clearTimeout(grace);
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined); // the client reset the stream (e.g. its deadline passed)
    const path = headers[':path'] ?? '';
    const contentType = headers['content-type'] ?? '';
    if (headers[':method'] !== 'POST' || !contentType.startsWith('application/grpc')) {
      // Not a gRPC call: the protocol answers with HTTP statuses here.
      stream.respond({ ':status': headers[':method'] !== 'POST' ? 405 : 415 }, { endStream: true });
      return;
    }
    const route = this.routes.get(path);
    if (!route?.handler) {
      stream.resume();
      this.fail(stream, path, Status.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    let caller: C;
    try {
      // Without the hook there is no caller: C is then `undefined` (the class's default).
      caller = this.opts.authenticate ? this.opts.authenticate(headers, route.method) : (undefined as C);
    } catch (err) {
      stream.resume(); // the request is not read
      const s = statusOf(err);
      this.fail(stream, route.method, s.code, s.details);
      return;
    }
    const call: DmiCall<C> = { method: route.method, metadata: headers, caller };
    const timeoutMs = decodeTimeout(headers['grpc-timeout'] as string | undefined);
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      // The client reset the stream (its deadline passed, or it went away): nobody waits for an
      // answer, and the request may be cut short. Not a malformed request.
      if (stream.aborted || stream.destroyed) return;
      if (performance.now() > deadline) {
        this.fail(
          stream,
          route.method,
          Status.DEADLINE_EXCEEDED,
          `${route.method}: the deadline passed before it was read`,
        );
        return;
      }
      this.handle(stream, route, chunks, call);
    });
  }

  private handle(stream: ServerHttp2Stream, route: Route<C>, chunks: Buffer[], call: DmiCall<C>): void {
    let req: object;
    try {
      req = DMI_CODEC.decode(route.reqType, unframe(chunks, `${route.method} request`));
    } catch (err) {
      // Not one valid frame, or bytes that are not the request message: a broken peer.
      if (err instanceof GrpcError) this.fail(stream, route.method, err.code, err.details);
      else this.fail(stream, route.method, Status.INTERNAL, `${route.method} request: ${String(err)}`);
      return;
    }
    let result: object | Promise<object>;
    try {
      result = route.handler!(req as never, call);
    } catch (err) {
      const s = statusOf(err);
      this.fail(stream, route.method, s.code, s.details);
      return;
    }
    if (result instanceof Promise)
      result.then(
        (res) => this.reply(stream, route, res),
        (err: unknown) => {
          const s = statusOf(err);
          this.fail(stream, route.method, s.code, s.details);
        },
      );
    else this.reply(stream, route, result);
  }

  private reply(stream: ServerHttp2Stream, route: Route<C>, res: object): void {
    let body: Buffer;
    try {
      body = frame(DMI_CODEC.encode(route.resType, res ?? {}));
    } catch (err) {
      this.fail(stream, route.method, Status.INTERNAL, `${route.method}: cannot encode the answer: ${String(err)}`);
      return;
    }
    if (stream.closed || stream.destroyed) return; // the client gave up (deadline) or went away
    try {
      stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
      stream.end(body);
    } catch {
      // The session went away between the check and the answer: nobody is left to answer.
    }
  }

  /** A trailers-only answer: the status in the response headers, no message. */
  private fail(stream: ServerHttp2Stream, method: string, code: Status, details: string): void {
    if (code === Status.UNKNOWN || code === Status.INTERNAL) this.opts.onError?.(method, code, details);
    if (stream.closed || stream.destroyed || stream.headersSent) return;
    try {
      stream.respond(
        { ...RESPONSE_HEADERS, 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(details) },
        { endStream: true },
      );
    } catch {
      // As in reply(): the session is gone.
    }
  }
}

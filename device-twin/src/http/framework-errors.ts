/**
 * Fastify's and Node's own HTTP errors (bad URL, over-long parameter, body too large, bad
 * media type, header overflow, ...) as problems with stable EdgeTwin codes, never plain JSON.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** Stable `code`s of HTTP-level problems (besides the sdk's ErrorCode values). */
export type HttpProblemCode =
  'ET_BAD_REQUEST' | 'ET_UNSUPPORTED_MEDIA_TYPE' | 'ET_TOO_LARGE' | 'ET_INTERNAL' | 'ET_SCHEMA';

export interface FrameworkProblem {
  status: number;
  code: HttpProblemCode;
  detail: string;
  extra: Record<string, unknown>;
}

/** The problem for an error fastify raised itself (its `FST_ERR_*` codes). */
export function frameworkProblem(err: FastifyError, limits: { bodyLimit?: number } = {}): FrameworkProblem {
  const status = err.statusCode ?? 500;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        code: 'ET_TOO_LARGE',
        detail: `request body is over the limit of ${limits.bodyLimit ?? 'the configured'} bytes; send a smaller body`,
        extra: limits.bodyLimit === undefined ? {} : { limit: limits.bodyLimit },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        code: 'ET_UNSUPPORTED_MEDIA_TYPE',
        detail: 'unsupported Content-Type; send application/json or application/merge-patch+json',
        extra: {},
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'ET_SCHEMA', detail: 'request body is not valid JSON', extra: {} };
    case 'FST_ERR_BAD_URL':
      return { status: 400, code: 'ET_BAD_REQUEST', detail: 'the URL is not valid (bad percent-encoding)', extra: {} };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return {
        status: 414,
        code: 'ET_TOO_LARGE',
        detail: 'a path parameter is over the limit of 100 characters; device namespaces and names are shorter',
        extra: { limit: 100 },
      };
  }
  if (status >= 500) {
    return { status: 500, code: 'ET_INTERNAL', detail: 'internal error; the edgecore log has the cause', extra: {} };
  }
  const detail = err.message.length > 200 ? `${err.message.slice(0, 200)}…` : err.message;
  return { status, code: status === 413 ? 'ET_TOO_LARGE' : 'ET_BAD_REQUEST', detail, extra: {} };
}

/** fastify's `frameworkErrors` option: bad URLs and over-long parameters, before any route runs. */
export function onFrameworkError(
  send: (reply: FastifyReply, p: FrameworkProblem) => void,
): (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => void {
  return (err, _req, reply) => send(reply, frameworkProblem(err));
}

/**
 * fastify's `clientErrorHandler`: errors Node's HTTP parser raises before there is a request
 * (headers too large, malformed request line, timeouts), answered as problem+json.
 */
export function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let code: HttpProblemCode = 'ET_BAD_REQUEST';
  let detail = 'the request could not be parsed as HTTP/1.1';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    detail = 'the request was not received in time';
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    code = 'ET_TOO_LARGE';
    detail = 'request headers are over the size limit (16 KiB); send fewer or shorter headers';
  }
  const title = status === 431 ? 'Request header fields too large' : (STATUS_CODES[status] ?? 'Bad request');
  const body = JSON.stringify({ type: `urn:edgetwin:error:${code}`, title, status, detail, code });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

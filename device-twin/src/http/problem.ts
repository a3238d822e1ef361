/** Errors as RFC 9457 problem details (`application/problem+json`) with EdgeTwin error codes. */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { isEdgeTwinError, type ErrorCode } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import { frameworkProblem } from './framework-errors.js';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  408: 'Request timeout',
  412: 'Precondition failed',
  413: 'Content too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  422: 'Unprocessable value',
  431: 'Request header fields too large',
  500: 'Internal error',
  502: 'Device refused the write',
  503: 'Not ready',
  504: 'Device did not answer in time',
};

/** Longest `detail` a problem carries: an error never echoes a whole bad value or URL. */
export const MAX_DETAIL_LENGTH = 512;

export function statusOf(code: ErrorCode): number {
  switch (code) {
    case 'ET_NOT_FOUND':
    case 'ET_UNKNOWN_MODEL':
      return 404;
    case 'ET_BAD_VALUE':
    case 'ET_READ_ONLY':
    case 'ET_UNKNOWN_PROPERTY':
      return 422;
    case 'ET_PRECONDITION':
      return 412;
    case 'ET_SCHEMA':
    case 'ET_CONFIG_INVALID':
    case 'ET_YAML_PARSE':
    case 'ET_TOO_DEEP':
      return 400;
    case 'ET_TOO_LARGE':
      return 413;
    case 'ET_UNAUTHORIZED':
      return 401;
    case 'ET_FORBIDDEN':
      return 403;
    case 'ET_TIMEOUT':
      return 504;
    case 'ET_WRITE_FAILED':
      return 502;
    case 'ET_UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [extra: string]: unknown;
}

export function titleOf(status: number): string {
  return TITLES[status] ?? STATUS_CODES[status] ?? (status >= 500 ? 'Internal error' : 'Bad request');
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  const d = detail.length > MAX_DETAIL_LENGTH ? `${detail.slice(0, MAX_DETAIL_LENGTH)}… (cut)` : detail;
  return { ...extra, type: `urn:edgetwin:error:${code}`, title: titleOf(status), status, detail: d, code };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

/** Maps thrown errors (EdgeTwinError, fastify validation, parser and routing errors) to problems. */
export function installProblemHandlers(app: FastifyInstance, log: Logger, limits: { bodyLimit?: number } = {}): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isEdgeTwinError(err)) {
      const extra: Record<string, unknown> = {};
      for (const k of [
        'property',
        'expected',
        'current',
        'pending',
        'desiredVersion',
        'limit',
        'deviceCode',
        'reason',
      ] as const) {
        if (err.details[k] !== undefined) extra[k] = err.details[k];
      }
      if (err.details.type !== undefined) extra.propertyType = err.details.type;
      return sendProblem(reply, problem(statusOf(err.code), err.code, err.message, extra));
    }
    if (err.validation) {
      return sendProblem(
        reply,
        problem(400, 'ET_SCHEMA', `request ${err.validationContext ?? ''} ${err.message}`.trim()),
      );
    }
    const p = frameworkProblem(err, limits);
    if (p.status >= 500) log.error({ err: err.message, code: err.code, url: req.url.slice(0, 200) }, 'request failed');
    return sendProblem(reply, problem(p.status, p.code, p.detail, p.extra));
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      reply,
      problem(404, 'ET_NOT_FOUND', `no route ${req.method} ${req.url.slice(0, 200)}; see /api/v1/openapi.json`),
    ),
  );
}

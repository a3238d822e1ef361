/** Errors as RFC 9457 problem details (`application/problem+json`) with EdgeTwin error codes. */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { isEdgeTwinError, type ErrorCode } from '@edgetwin/sdk';
import type { Logger } from 'pino';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  404: 'Not found',
  408: 'Request timeout',
  412: 'Precondition failed',
  415: 'Unsupported media type',
  422: 'Unprocessable value',
  500: 'Internal error',
  503: 'Not ready',
  504: 'Device did not answer in time',
};

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
      return 400;
    case 'ET_TIMEOUT':
      return 504;
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

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { ...extra, type: `urn:edgetwin:error:${code}`, title: TITLES[status] ?? 'Error', status, detail, code };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

/** Maps thrown errors (EdgeTwinError, fastify validation and parser errors) to problems. */
export function installProblemHandlers(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isEdgeTwinError(err)) {
      const extra: Record<string, unknown> = {};
      for (const k of ['property', 'expected', 'current', 'pending', 'desiredVersion'] as const) {
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
    const status = err.statusCode ?? 500;
    if (status >= 500) log.error({ err: err.message, url: req.url }, 'request failed');
    return sendProblem(reply, problem(status, status >= 500 ? 'ET_INTERNAL' : 'ET_SCHEMA', err.message));
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, problem(404, 'ET_NOT_FOUND', `no route ${req.method} ${req.url}; see /api/v1/openapi.json`)),
  );
}

/**
 * Who may use the HTTP API, checked before any route runs:
 * - the Host header must name this API (`allowedHosts`): a web page that rebinds its own DNS name
 *   to 127.0.0.1 still sends its own name, and is refused (403 ET_FORBIDDEN);
 * - CORS only for the configured origins (none by default), preflights answered here;
 * - with a token verifier, `Authorization: Bearer TOKEN` with a scope that covers the method:
 *   `read` for GET/HEAD, `write` (desired values) for the rest, `admin` for everything. No or an
 *   unknown, revoked or expired token: 401 ET_UNAUTHORIZED; a token without the scope: 403. A
 *   route may ask for more with `config: { scope: 'admin' }` (edgecore's pairing routes do).
 * `/healthz` and `/readyz` stay open (probes carry no token); `/metrics` too when `metricsOpen`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problem, sendProblem } from './problem.js';

export type HttpScope = 'read' | 'write' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The token scope this route needs (default: `read` for GET/HEAD, `write` for the rest). */
    scope?: HttpScope;
  }
}

export interface HttpAccessOptions {
  /** The scopes a bearer token grants, or undefined for an unknown, revoked or expired one. No verifier: no authentication. */
  verifyToken?: (token: string) => readonly HttpScope[] | undefined;
  /** Host names (without port) requests may be addressed to; none: any. */
  allowedHosts?: readonly string[];
  /** Origins that browsers may call the API from (exact `scheme://host[:port]`); none by default. */
  corsOrigins?: readonly string[];
  /** Serve /metrics without a token (default false when tokens are required). */
  metricsOpen?: boolean;
  /** Further paths served without a token (static files of a web console: code, no data). */
  isPublic?: (path: string) => boolean;
}

const OPEN_PATHS = new Set(['/healthz', '/readyz', '/api/v1/healthz', '/api/v1/readyz']);
const METRICS_PATHS = new Set(['/metrics', '/api/v1/metrics']);
const READ_METHODS = new Set(['GET', 'HEAD']);

/** The host name of a Host header: `[::1]:8080` -> `::1`, `Example.org:80` -> `example.org`. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

export function installAccessControl(app: FastifyInstance, opts: HttpAccessOptions): void {
  const hosts =
    opts.allowedHosts && opts.allowedHosts.length > 0
      ? new Set(opts.allowedHosts.map((h) => h.toLowerCase()))
      : undefined;
  const origins = new Set(opts.corsOrigins ?? []);
  const verify = opts.verifyToken;

  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done) => {
    const host = hostName(req.headers.host);
    if (hosts && (host === undefined || !hosts.has(host))) {
      void sendProblem(
        reply,
        problem(
          403,
          'ET_FORBIDDEN',
          `this API does not answer to Host "${(req.headers.host ?? '').slice(0, 100)}"; add the name with --http-allowed-host if it is yours`,
        ),
      );
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origins.has(origin)) {
      void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      if (req.method === 'OPTIONS') {
        void reply
          .code(204)
          .header('access-control-allow-methods', 'GET, HEAD, PATCH, POST, DELETE')
          .header('access-control-allow-headers', 'authorization, content-type, if-match, last-event-id')
          .header('access-control-max-age', '600')
          .send();
        return;
      }
    }
    const path = req.url.split('?')[0] ?? req.url;
    if (
      !verify ||
      OPEN_PATHS.has(path) ||
      (opts.metricsOpen && METRICS_PATHS.has(path)) ||
      (req.method === 'GET' && opts.isPublic?.(path))
    ) {
      done();
      return;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const scopes = m ? verify(m[1]!) : undefined;
    if (!scopes) {
      void sendProblem(
        reply.header('www-authenticate', 'Bearer realm="edgetwin"'),
        problem(
          401,
          'ET_UNAUTHORIZED',
          m
            ? 'the bearer token is unknown, revoked or expired; create one with "edgetwin tokens create"'
            : 'this API needs "Authorization: Bearer TOKEN"; create a token with "edgetwin tokens create"',
        ),
      );
      return;
    }
    const needed: HttpScope = req.routeOptions.config?.scope ?? (READ_METHODS.has(req.method) ? 'read' : 'write');
    const ok = scopes.includes('admin') || scopes.includes(needed) || (needed === 'read' && scopes.includes('write'));
    if (!ok) {
      void sendProblem(
        reply,
        problem(403, 'ET_FORBIDDEN', `this token has scope ${scopes.join(', ')}; ${req.method} needs ${needed}`),
      );
      return;
    }
    done();
  });
}

/**
 * The HTTP device-twin API (fastify 5) under /api/v1: devices, models, twins, desired patches,
 * server-sent events, health, readiness, metrics and the OpenAPI document. The caller listens.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { TwinService } from '../engine/twin-service.js';
import type { MetricsRegistry } from '../metrics.js';
import { EventJournal } from './event-journal.js';
import { OpenApiCollector } from './openapi.js';
import { VALUE_LIMITS, parseBoundedJson } from '@edgetwin/sdk';
import { onClientError, onFrameworkError } from './framework-errors.js';
import { installAccessControl, type HttpAccessOptions } from './access.js';
import { installProblemHandlers, problem, sendProblem } from './problem.js';
import { deviceRoutes } from './routes-devices.js';
import { eventRoutes } from './routes-events.js';
import { twinRoutes } from './routes-twin.js';
import { historyRoutes } from './routes-history.js';
import { twinStreamRoutes } from './routes-twin-stream.js';
import type { HistoryStore } from '../history/history-store.js';
import { HealthSchema, ProblemSchema } from './schemas.js';
import { API_PREFIX } from './lazy-api.js';

export { API_PREFIX };

export interface HttpApiOptions {
  twin: TwinService;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Readiness: true, or false / a reason string when not ready (503). */
  ready?: () => boolean | string;
  /** Change events kept per device for SSE resumption (default 256). */
  sseJournalSize?: number;
  /** A device's SSE journal is dropped after this long without subscribers (default 600 000 ms). */
  sseJournalIdleMs?: number;
  /** SSE keep-alive comment interval (default 15 000 ms). */
  sseHeartbeatMs?: number;
  /** Authentication (bearer tokens with scopes), Host header check and CORS; none: open API. */
  access?: HttpAccessOptions;
  /** HTTPS: PEM certificate and key; with `ca`, clients must present a certificate it signed. */
  https?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** Largest request body (default VALUE_LIMITS.maxPayloadBytes, 256 KiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** Serves the history routes when given. */
  history?: HistoryStore;
  /** More routes under /api/v1, registered in the API's own context (its hooks apply to them). */
  routes?: (api: FastifyInstance) => void;
}

export async function createHttpApi(opts: HttpApiOptions): Promise<FastifyInstance> {
  const log = opts.logger.child({ module: 'twin-http' });
  const fastifyLogger: FastifyBaseLogger = log;
  const bodyLimit = opts.maxBodyBytes ?? VALUE_LIMITS.maxPayloadBytes;
  const app = Fastify({
    loggerInstance: fastifyLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    bodyLimit,
    frameworkErrors: onFrameworkError((reply, p) => {
      void sendProblem(reply, problem(p.status, p.code, p.detail, p.extra));
    }),
    clientErrorHandler: onClientError,
    ...(opts.https
      ? {
          https: {
            cert: opts.https.cert,
            key: opts.https.key,
            ...(opts.https.ca ? { ca: opts.https.ca, requestCert: true, rejectUnauthorized: true } : {}),
          },
        }
      : {}),
  });
  const openapi = new OpenApiCollector();
  openapi.attach(app);
  installProblemHandlers(app, log, { bodyLimit });
  if (opts.access) installAccessControl(app, opts.access);
  // JSON bodies within the nesting limit (a deep array is a 400, never a stack overflow).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/merge-patch+json'],
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, parseBoundedJson(body, 'request body', { maxPayloadBytes: bodyLimit }));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );

  const requests = opts.metrics.counter('edgetwin_http_requests_total', 'HTTP requests, by method, route and status.');
  const seconds = opts.metrics.histogram('edgetwin_http_request_seconds', 'HTTP request duration.');
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unknown';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    seconds.observe(reply.elapsedTime / 1000, { route });
    done();
  });

  const journal = new EventJournal(opts.twin, opts.sseJournalSize ?? 256, opts.sseJournalIdleMs ?? 600_000);
  journal.start();
  app.addHook('onClose', (_app, done) => {
    journal.stop();
    done();
  });

  const renderMetrics = () =>
    opts.twin.metrics === opts.metrics ? opts.metrics.render() : opts.metrics.render() + opts.twin.metrics.render();

  const common = (instance: FastifyInstance, hide: boolean) => {
    instance.get('/healthz', { schema: { hide, summary: 'Liveness', response: { 200: HealthSchema } } }, () => ({
      status: 'ok',
    }));
    instance.get(
      '/readyz',
      { schema: { hide, summary: 'Readiness', response: { 200: HealthSchema, 503: ProblemSchema } } },
      (_req, reply) => {
        const r = opts.ready?.() ?? true;
        if (r === true) return { status: 'ready' };
        return sendProblem(reply, problem(503, 'ET_UNAVAILABLE', typeof r === 'string' ? r : 'not ready yet'));
      },
    );
    instance.get('/metrics', { schema: { hide, summary: 'Prometheus metrics (text format 0.0.4)' } }, (_req, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderMetrics()),
    );
    instance.get('/openapi.json', { schema: { hide, summary: 'This OpenAPI document' } }, () =>
      openapi.document({ title: 'EdgeTwin device twin API', version: '1' }),
    );
  };

  await app.register(
    (api, _o, done) => {
      deviceRoutes(api, opts.twin);
      twinRoutes(api, opts.twin);
      if (opts.history) historyRoutes(api, opts.twin, opts.history);
      eventRoutes(api, opts.twin, journal, { heartbeatMs: opts.sseHeartbeatMs ?? 15_000 });
      twinStreamRoutes(api, opts.twin, { heartbeatMs: opts.sseHeartbeatMs ?? 15_000, intervalMs: 500 });
      opts.routes?.(api);
      common(api, false);
      done();
    },
    { prefix: API_PREFIX },
  );
  common(app, true);
  return app;
}

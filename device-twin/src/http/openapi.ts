/**
 * The OpenAPI 3 document, built from the route schemas fastify validates with (collected by an
 * `onRoute` hook, so it cannot drift from the routes).
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import './fastify-schema.js';

interface Collected {
  method: string;
  url: string;
  schema: Record<string, unknown>;
}

function toOpenApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: unknown, where: 'path' | 'query' | 'header'): unknown[] {
  const s = schema as { properties?: Record<string, { description?: string }>; required?: string[] } | undefined;
  if (!s?.properties) return [];
  return Object.entries(s.properties).map(([name, sub]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    schema: sub,
    ...(sub.description ? { description: sub.description } : {}),
  }));
}

export class OpenApiCollector {
  private readonly routes: Collected[] = [];

  /** Must be called before the routes are registered. */
  attach(app: FastifyInstance): void {
    app.addHook('onRoute', (route: RouteOptions) => {
      const schema = (route.schema ?? {}) as Record<string, unknown>;
      if (schema.hide === true) return;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const m of methods) if (m !== 'HEAD') this.routes.push({ method: m.toLowerCase(), url: route.url, schema });
    });
  }

  document(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const s = r.schema;
      const op: Record<string, unknown> = {
        summary: s.summary ?? `${r.method.toUpperCase()} ${r.url}`,
        ...(s.description ? { description: s.description } : {}),
        parameters: [
          ...parameters(s.params, 'path'),
          ...parameters(s.querystring, 'query'),
          ...parameters(s.headers, 'header'),
        ],
        responses: {},
      };
      if (s.body) {
        op.requestBody = {
          required: true,
          content: { 'application/merge-patch+json': { schema: s.body }, 'application/json': { schema: s.body } },
        };
      }
      const responses: Record<string, unknown> = {};
      for (const [status, schema] of Object.entries((s.response ?? {}) as Record<string, unknown>)) {
        const type = status.startsWith('2') ? 'application/json' : 'application/problem+json';
        responses[status] = { description: status.startsWith('2') ? 'OK' : 'Problem', content: { [type]: { schema } } };
      }
      if (Object.keys(responses).length === 0) responses['200'] = { description: 'OK' };
      op.responses = responses;
      const path = toOpenApiPath(r.url);
      paths[path] = { ...(paths[path] ?? {}), [r.method]: op };
    }
    return { openapi: '3.0.3', info, paths };
  }
}

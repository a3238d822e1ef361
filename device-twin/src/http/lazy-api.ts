/**
 * `createHttpApi` as the package's index exports it: fastify, ajv and the route modules (about a
 * fifth of edgecore's module loading) are imported on the first call, not when the package is.
 * A daemon that answers MQTT before it serves HTTP (edgecore) then does not load them before its
 * first answer.
 */
import type { FastifyInstance } from 'fastify';
import type { HttpApiOptions } from './api.js';

export const API_PREFIX = '/api/v1';

export async function createHttpApi(opts: HttpApiOptions): Promise<FastifyInstance> {
  const api = await import('./api.js');
  return api.createHttpApi(opts);
}

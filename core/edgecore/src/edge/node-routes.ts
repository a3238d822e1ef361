/**
 * GET /api/v1/node: this edge node's name, the mapper processes it supervises (state, restarts,
 * last error) and the problems of the last devices directory load (file, document, field).
 */
import type { FastifyInstance } from 'fastify';
import type { MapperProcessStatus } from '../supervisor/mapper-supervisor.js';
import type { LoadProblem } from '../devices/yaml-documents.js';

export interface NodeStatusSource {
  nodeName: string;
  mappers(): MapperProcessStatus[];
  problems(): readonly LoadProblem[];
}

const NodeStatusSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    mappers: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          protocol: { type: 'string' },
          state: { type: 'string', description: 'running, backoff, stopped or unavailable' },
          pid: { type: 'integer' },
          restarts: { type: 'integer' },
          lastError: { type: 'string' },
        },
        required: ['protocol', 'state', 'restarts'],
      },
    },
    problems: {
      type: 'array',
      description: 'Problems of the last devices directory load; each names the file and the field.',
      items: {
        type: 'object',
        properties: {
          file: { type: 'string' },
          document: { type: 'integer', description: '0-based document index in the file' },
          path: { type: 'string', description: 'JSON pointer of the field' },
          code: { type: 'string' },
          message: { type: 'string' },
        },
        required: ['file', 'code', 'message'],
      },
    },
  },
  required: ['name', 'mappers', 'problems'],
} as const;

export function nodeRoutes(api: FastifyInstance, source: NodeStatusSource): void {
  api.get(
    '/node',
    {
      schema: {
        summary: 'This node: its mapper processes and the devices files that did not load',
        response: { 200: NodeStatusSchema },
      },
    },
    () => ({
      name: source.nodeName,
      mappers: source.mappers(),
      problems: source.problems().map((p) => {
        const path = p.error.details.path;
        return {
          file: p.file,
          ...(p.document !== undefined ? { document: p.document } : {}),
          ...(typeof path === 'string' ? { path } : {}),
          code: p.error.code,
          message: p.error.message,
        };
      }),
    }),
  );
}

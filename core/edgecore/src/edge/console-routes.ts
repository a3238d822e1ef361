/**
 * The web console at `/` on edgecore's HTTP server. Nothing is loaded until someone asks: the
 * @edgetwin/console module (which only knows where its files are) is imported on the first
 * request, and each file is streamed from disk per request, gzipped at build time, so an
 * edgecore nobody browses holds no console bytes. index.html is revalidated on every load; the
 * hashed assets are cached for a year.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifySchema {
    /** Leave the route out of the OpenAPI document (device-twin's OpenApiCollector reads it). */
    hide?: boolean;
  }
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  png: 'image/png',
  svg: 'image/svg+xml',
};

let assetsDir: Promise<string> | undefined;
const consoleDir = () => (assetsDir ??= import('@edgetwin/console').then((m) => m.consoleAssetsDir));

const exists = (file: string) =>
  stat(file).then(
    (s) => s.isFile(),
    () => false,
  );

async function sendAsset(req: FastifyRequest, reply: FastifyReply, name: string, immutable: boolean) {
  const dir = await consoleDir();
  const file = join(dir, name);
  if (!(await exists(file))) {
    const built = await exists(join(dir, 'index.html'));
    return reply
      .code(built ? 404 : 503)
      .type('application/problem+json')
      .send({
        type: `urn:edgetwin:error:${built ? 'ET_NOT_FOUND' : 'ET_UNAVAILABLE'}`,
        title: built ? 'Not found' : 'Not ready',
        status: built ? 404 : 503,
        code: built ? 'ET_NOT_FOUND' : 'ET_UNAVAILABLE',
        detail: built
          ? `the console has no file ${name}; reload the page`
          : 'the console is not built; run `npm run build` in the EdgeTwin repository',
      });
  }
  const gz = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') && (await exists(`${file}.gz`));
  reply
    .type(TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream')
    .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (gz) reply.header('content-encoding', 'gzip');
  return reply.send(createReadStream(gz ? `${file}.gz` : file));
}

export function consoleRoutes(app: FastifyInstance): void {
  app.get('/', { schema: { hide: true } }, (req, reply) => sendAsset(req, reply, 'index.html', false));
  app.get<{ Params: { file: string } }>('/assets/:file', { schema: { hide: true } }, (req, reply) => {
    const name = req.params.file;
    if (!/^[\w-]+\.[a-z]+$/.test(name)) return sendAsset(req, reply, 'missing', false);
    return sendAsset(req, reply, name, true);
  });
}

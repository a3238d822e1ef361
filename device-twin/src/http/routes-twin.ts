/** GET /devices/{ns}/{name}/twin and PATCH /devices/{ns}/{name}/twin/desired. */
import type { FastifyInstance } from 'fastify';
import type { TwinService } from '../engine/twin-service.js';
import { parseIfMatch, requiredVersion, twinEtag } from './etag.js';
import { requireDevice } from './routes-devices.js';
import {
  DesiredPatchSchema,
  DeviceParamsSchema,
  PatchQuerySchema,
  ProblemSchema,
  TwinSchema,
  type DeviceParams,
  type PatchQuery,
} from './schemas.js';
import { waitForReported } from './wait-reported.js';

const DEFAULT_WAIT_MS = 10_000;

export function twinRoutes(app: FastifyInstance, twin: TwinService): void {
  app.get<{ Params: DeviceParams }>(
    '/devices/:ns/:name/twin',
    {
      schema: {
        summary:
          'Desired, reported, delta, versions and state of a device; ETag "d{desiredVersion}-r{reportedVersion}"',
        params: DeviceParamsSchema,
        response: { 200: TwinSchema, 404: ProblemSchema },
      },
    },
    (req, reply) => {
      const d = requireDevice(twin, req.params);
      const snap = twin.getTwin(d.id)!;
      const etag = twinEtag(snap);
      void reply.header('etag', etag);
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return snap;
    },
  );

  app.patch<{ Params: DeviceParams; Querystring: PatchQuery; Body: Record<string, unknown> }>(
    '/devices/:ns/:name/twin/desired',
    {
      schema: {
        summary:
          'Merge-patch desired values (typed; null deletes). If-Match compares the desired version only. ' +
          '?wait=reported answers 200 once the device applied them (desired[p].write.status applied), 502 when the device ' +
          'refused one (problem with deviceCode and reason), or 504 when nothing was heard within the timeout (the values stay stored).',
        params: DeviceParamsSchema,
        querystring: PatchQuerySchema,
        body: DesiredPatchSchema,
        headers: {
          type: 'object',
          properties: { 'if-match': { type: 'string', description: 'A twin ETag, e.g. "d3-r10", or *' } },
        },
        response: {
          200: TwinSchema,
          400: ProblemSchema,
          404: ProblemSchema,
          412: ProblemSchema,
          422: ProblemSchema,
          502: ProblemSchema,
          504: ProblemSchema,
        },
      },
    },
    async (req, reply) => {
      const d = requireDevice(twin, req.params);
      const ifMatch = req.headers['if-match'];
      const versions = parseIfMatch(Array.isArray(ifMatch) ? ifMatch.join(',') : ifMatch);
      const current = twin.getTwin(d.id)!.desiredVersion;
      const ifDesiredVersion = requiredVersion(versions, current);
      let snap = await twin.setDesired(d.id, req.body, {
        source: 'http',
        cause: req.id,
        ...(ifDesiredVersion !== undefined ? { ifDesiredVersion } : {}),
      });
      if (req.query.wait === 'reported') {
        const props = Object.entries(req.body)
          .filter(([, v]) => v !== null)
          .map(([k]) => k);
        const ac = new AbortController();
        const onClose = () => {
          if (!reply.raw.writableFinished) ac.abort();
        };
        reply.raw.once('close', onClose);
        try {
          snap = await waitForReported(twin, snap, props, req.query.timeout ?? DEFAULT_WAIT_MS, ac.signal);
        } finally {
          reply.raw.off('close', onClose);
        }
      }
      void reply.header('etag', twinEtag(snap));
      return snap;
    },
  );
}

/**
 * GET /devices/{ns}/{name}/properties/{p}/history: reported values at a chosen step (min, max,
 * avg, last, count per step); GET /devices/{ns}/{name}/history/events: desired changes, state
 * changes and write outcomes.
 */
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { EdgeTwinError } from '@edgetwin/sdk';
import type { TwinService } from '../engine/twin-service.js';
import { queryHistory, MAX_HISTORY_STEPS } from '../history/history-query.js';
import type { HistoryStore } from '../history/history-store.js';
import { requireDevice } from './routes-devices.js';
import { DeviceParamsSchema, ProblemSchema } from './schemas.js';
import { Type } from '@edgetwin/sdk/typebox';

const RangeQuery = Type.Object({
  from: Type.Optional(Type.Integer({ description: 'Start, ms since epoch (default: one hour before `to`).' })),
  to: Type.Optional(Type.Integer({ description: 'End (exclusive), ms since epoch (default: now).' })),
});
const HistoryQuerySchema = Type.Composite([
  RangeQuery,
  Type.Object({
    step: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: `Step in ms (default: the range in 300 steps); at most ${MAX_HISTORY_STEPS} steps.`,
      }),
    ),
  }),
]);
const PropertyParamsSchema = Type.Composite([
  DeviceParamsSchema,
  Type.Object({ p: Type.String({ description: 'Property name.' }) }),
]);

const HistorySchema = Type.Object({
  device: Type.String(),
  property: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  step: Type.Integer(),
  points: Type.Array(
    Type.Object({
      t: Type.Integer({ description: 'Start of the step, ms since epoch.' }),
      min: Type.Number(),
      max: Type.Number(),
      avg: Type.Number(),
      last: Type.Number(),
      count: Type.Integer({ description: 'Values reported in the step.' }),
    }),
  ),
});
const EventListSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      property: Type.String(),
      t: Type.Integer(),
      kind: Type.String({ description: 'desired, state or write' }),
      detail: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});

function range(q: Static<typeof RangeQuery>, now: number): { from: number; to: number } {
  const to = q.to ?? now;
  return { from: q.from ?? to - 3_600_000, to };
}

export function historyRoutes(app: FastifyInstance, twin: TwinService, store: HistoryStore): void {
  app.get<{ Params: Static<typeof PropertyParamsSchema>; Querystring: Static<typeof HistoryQuerySchema> }>(
    '/devices/:ns/:name/properties/:p/history',
    {
      schema: {
        summary: 'History of a reported property: min, max, avg and last per step (numbers; booleans as 0/1)',
        params: PropertyParamsSchema,
        querystring: HistoryQuerySchema,
        response: { 200: HistorySchema, 404: ProblemSchema, 422: ProblemSchema },
      },
    },
    (req) => {
      const d = requireDevice(twin, req.params);
      const p = req.params.p;
      if (!d.properties.some((x) => x.name === p)) {
        throw new EdgeTwinError('ET_NOT_FOUND', `device ${d.id} has no property "${p}"; GET ${d.id} lists them`);
      }
      const { from, to } = range(req.query, Date.now());
      const step = req.query.step ?? Math.max(store.layout.fineMs, Math.ceil((to - from) / 300));
      const points = queryHistory(store, d.id, p, { from, to, step });
      return { device: d.id, property: p, from, to, step, points };
    },
  );
  app.get<{ Params: Static<typeof DeviceParamsSchema>; Querystring: Static<typeof RangeQuery> }>(
    '/devices/:ns/:name/history/events',
    {
      schema: {
        summary: "A device's desired changes, state changes and write outcomes over a time range",
        params: DeviceParamsSchema,
        querystring: RangeQuery,
        response: { 200: EventListSchema, 404: ProblemSchema },
      },
    },
    (req) => {
      const d = requireDevice(twin, req.params);
      const { from, to } = range(req.query, Date.now());
      return {
        items: store.events(d.id, from, to).map(({ property, t, kind, detail }) => ({ property, t, kind, detail })),
      };
    },
  );
}

/**
 * TypeBox schemas of the HTTP API: fastify validates requests and serializes responses with
 * them, and the OpenAPI document is built from the very same objects.
 */
import type { Static } from '@sinclair/typebox';
import { DeviceModelSchema, DeviceSchema, WriteStateSchema } from '@edgetwin/sdk';
import { Type } from '@edgetwin/sdk/typebox';
import './fastify-schema.js';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'urn:edgetwin:error:<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable EdgeTwin error code, e.g. ET_BAD_VALUE.' }),
  },
  { additionalProperties: true, $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json).' },
);

export const DeviceParamsSchema = Type.Object({
  ns: Type.String({ description: 'Namespace of the device.' }),
  name: Type.String({ description: 'Name of the device.' }),
});
export type DeviceParams = Static<typeof DeviceParamsSchema>;

const Value = Type.Union([Type.Number(), Type.Boolean(), Type.String()], { description: 'A typed twin value.' });

const DesiredEntrySchema = Type.Object({
  value: Value,
  version: Type.Integer(),
  updatedAt: Type.Integer({ description: 'ms since epoch' }),
  source: Type.Union([Type.Literal('spec'), Type.Literal('cloud'), Type.Literal('http'), Type.Literal('mqtt')]),
  write: Type.Optional(WriteStateSchema),
});

const ReportedEntrySchema = Type.Object({
  value: Value,
  updatedAt: Type.Integer({ description: 'ms since epoch, edge clock' }),
  sourceTime: Type.Optional(Type.Integer({ description: 'ms since epoch, device clock' })),
  quality: Type.Optional(Type.String()),
});

export const TwinSchema = Type.Object(
  {
    id: Type.String(),
    namespace: Type.String(),
    name: Type.String(),
    desired: Type.Record(Type.String(), DesiredEntrySchema),
    reported: Type.Record(Type.String(), ReportedEntrySchema),
    delta: Type.Record(Type.String(), Value, { description: 'Desired values the device has not reported yet.' }),
    desiredVersion: Type.Integer(),
    reportedVersion: Type.Integer(),
    state: Type.String(),
    lastOnline: Type.Optional(Type.Integer()),
    seq: Type.Integer({ description: 'Sequence number of the last change event (SSE id).' }),
  },
  { $id: 'Twin' },
);

const PropertySummarySchema = Type.Object({
  name: Type.String(),
  type: Type.String(),
  accessMode: Type.String(),
  unit: Type.Optional(Type.String()),
  minimum: Type.Optional(Type.Number()),
  maximum: Type.Optional(Type.Number()),
});

export const DeviceSummarySchema = Type.Object({
  id: Type.String(),
  namespace: Type.String(),
  name: Type.String(),
  model: Type.String(),
  protocol: Type.Optional(Type.String()),
  state: Type.String(),
  properties: Type.Array(PropertySummarySchema),
});

export const DeviceListSchema = Type.Object({ items: Type.Array(DeviceSummarySchema) });
export const DeviceDetailSchema = Type.Composite([DeviceSummarySchema, Type.Object({ device: DeviceSchema })]);
export const ModelListSchema = Type.Object({ items: Type.Array(DeviceModelSchema) });

export const DesiredPatchSchema = Type.Record(Type.String(), Type.Unknown(), {
  description:
    'JSON merge patch of desired values: {"setpoint": 22, "mode": "eco", "power": null}. Values are typed by the model; null deletes.',
});

export const PatchQuerySchema = Type.Object({
  wait: Type.Optional(
    Type.Literal('reported', {
      description:
        'Answer once the device applied the new values (200), refused one (502 with its code), or the timeout passed (504).',
    }),
  ),
  timeout: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 120_000,
      default: 10_000,
      description: 'Milliseconds to wait (wait=reported).',
    }),
  ),
});
export type PatchQuery = Static<typeof PatchQuerySchema>;

export const EventsQuerySchema = Type.Object({
  lastEventId: Type.Optional(Type.String({ description: 'Same as the Last-Event-ID header.' })),
});

export const HealthSchema = Type.Object({ status: Type.String() });

/** GET /devices, GET /devices/{ns}/{name}, GET /devicemodels. */
import type { FastifyInstance } from 'fastify';
import { EdgeTwinError, type ResolvedDevice } from '@edgetwin/sdk';
import type { TwinService } from '../engine/twin-service.js';
import {
  DeviceDetailSchema,
  DeviceListSchema,
  DeviceParamsSchema,
  ModelListSchema,
  ProblemSchema,
  type DeviceParams,
} from './schemas.js';

function num(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function summary(twin: TwinService, d: ResolvedDevice) {
  const out = {
    id: d.id,
    namespace: d.namespace,
    name: d.name,
    model: d.model.metadata.name,
    state: twin.getTwin(d.id)?.state ?? 'unknown',
    properties: d.properties.map((p) => {
      const s: Record<string, unknown> = {
        name: p.name,
        type: p.model.type,
        accessMode: p.model.accessMode ?? 'ReadWrite',
      };
      if (p.model.unit !== undefined) s.unit = p.model.unit;
      const min = num(p.model.minimum);
      const max = num(p.model.maximum);
      if (min !== undefined) s.minimum = min;
      if (max !== undefined) s.maximum = max;
      return s;
    }),
  };
  return d.protocolName === undefined ? out : { ...out, protocol: d.protocolName };
}

export function requireDevice(twin: TwinService, p: DeviceParams): ResolvedDevice {
  const d = twin.getDevice(`${p.ns}/${p.name}`);
  if (!d) {
    throw new EdgeTwinError(
      'ET_NOT_FOUND',
      `device ${p.ns}/${p.name} does not exist on node ${twin.nodeName}; GET /api/v1/devices lists them`,
    );
  }
  return d;
}

export function deviceRoutes(app: FastifyInstance, twin: TwinService): void {
  app.get(
    '/devices',
    { schema: { summary: 'List the devices of this node', response: { 200: DeviceListSchema } } },
    () => ({ items: twin.listDevices().map((d) => summary(twin, d)) }),
  );
  app.get<{ Params: DeviceParams }>(
    '/devices/:ns/:name',
    {
      schema: {
        summary: 'One device: its resolved properties and the Device resource',
        params: DeviceParamsSchema,
        response: { 200: DeviceDetailSchema, 404: ProblemSchema },
      },
    },
    (req) => {
      const d = requireDevice(twin, req.params);
      return { ...summary(twin, d), device: d.device };
    },
  );
  app.get(
    '/devicemodels',
    { schema: { summary: 'List the device models', response: { 200: ModelListSchema } } },
    () => ({ items: twin.listModels() }),
  );
}

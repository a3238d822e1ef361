/**
 * Joining a Device with its DeviceModel: the one place a Device is resolved. Every source of
 * devices runs it (edgecore's devices directory, the twin's store on start, cloud sync, the mapper
 * runtime): the checks, the merge of model-level defaults into the device and, given the
 * protocol's schemas, the check of its configData.
 */
import type { TSchema } from '@sinclair/typebox';
import { EdgeTwinError, isEdgeTwinError, type ErrorDetails } from '../errors.js';
import { coerceValue, checkRange, type TwinValue } from './values.js';
import type { ConfigData, Device, DeviceModel, ModelProperty } from './resources.js';
import { DEFAULT_NAMESPACE, resourceId } from './resources.js';
import { parseConfigData } from './validate.js';

export interface ResolvedProperty {
  name: string;
  model: ModelProperty;
  /** Desired value from the Device spec, typed; undefined when the spec sets none. */
  specDesired: TwinValue | undefined;
  /** Visitor configData: the model's, overridden field by field by the device's. */
  visitorConfig: ConfigData;
  collectCycle: number;
  reportCycle: number;
  /** `visitorConfig` checked against the protocol's visitor schema, defaults applied (only with `configData`). */
  visitorData?: unknown;
}

export interface ResolvedDevice {
  id: string;
  namespace: string;
  name: string;
  device: Device;
  model: DeviceModel;
  protocolName: string | undefined;
  /** Protocol configData: the model's `protocolConfigData`, overridden by the device's. */
  protocolConfig: ConfigData;
  /** `protocolConfig` checked against the protocol's schema, defaults applied (only with `configData`). */
  protocolData?: unknown;
  properties: ResolvedProperty[];
}

/** A mapper's configData schemas, as its package's `./config` entry exports them. */
export interface ConfigDataSchemas {
  /** `spec.protocol.configData`, merged over the model's `protocolConfigData`. */
  protocol: TSchema;
  /** Each property's `visitors.configData`, merged over the model property's. */
  visitor: TSchema;
}

export interface ResolveOptions {
  /** Added to every error's details, e.g. the file and document the Device came from. */
  details?: ErrorDetails;
  /**
   * The configData schemas of the device's protocol. Given, the protocol and visitor configData
   * are validated (errors name the device, the property and the field; code ET_SCHEMA) and the
   * parsed values are `protocolData` and each property's `visitorData`.
   */
  configData?: ConfigDataSchemas;
  /**
   * With `configData`: check only the configData the documents hold. A Device with no protocol
   * configData (in it or its model), a property with no visitor configData, is left to its mapper,
   * which reports what is missing when it serves the device (edgecore's devices directory).
   */
  onlyWrittenConfigData?: boolean;
  /**
   * Given, a desired value that does not fit its property (ET_BAD_VALUE) is left out instead of
   * failing the device, and its error is passed here.
   */
  onBadDesired?: (err: EdgeTwinError) => void;
}

/** Models are looked up by `{namespace}/{name}`; a model lives in its device's namespace. */
export function modelKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? DEFAULT_NAMESPACE}/${name}`;
}

/** Models by `modelKey`, for `resolveDevice`. */
export function indexModels(models: Iterable<DeviceModel>): Map<string, DeviceModel> {
  const byKey = new Map<string, DeviceModel>();
  for (const m of models) byKey.set(modelKey(m.metadata.namespace, m.metadata.name), m);
  return byKey;
}

/**
 * Checks a Device against the models: the model exists, every property is in the model, desired
 * values fit their types and ranges and, with `opts.configData`, the configData fits the protocol's
 * schemas. Throws EdgeTwinError (ET_UNKNOWN_MODEL, ET_UNKNOWN_PROPERTY, ET_BAD_VALUE, ET_SCHEMA)
 * whose `details.path` points into the Device.
 */
export function resolveDevice(
  device: Device,
  models: ReadonlyMap<string, DeviceModel>,
  opts: ResolveOptions = {},
): ResolvedDevice {
  const onBadDesired = opts.onBadDesired;
  if (!onBadDesired) return resolveOnce(device, models, opts);
  let d = device;
  // Each round leaves out one more desired value, so there are at most one per property and one more.
  for (let round = 0; ; round++) {
    try {
      return resolveOnce(d, models, opts);
    } catch (err) {
      if (!isEdgeTwinError(err, 'ET_BAD_VALUE')) throw err;
      const m = /^\/spec\/properties\/(\d+)\/desired\/value$/.exec(err.details.path ?? '');
      if (!m || round >= device.spec.properties.length) throw err;
      onBadDesired(err);
      d = withoutDesired(d, Number(m[1]));
    }
  }
}

function withoutDesired(d: Device, i: number): Device {
  return {
    ...d,
    spec: {
      ...d.spec,
      properties: d.spec.properties.map((p, k) => {
        if (k !== i) return p;
        const { desired: _left, ...rest } = p;
        return rest;
      }),
    },
  };
}

function resolveOnce(device: Device, models: ReadonlyMap<string, DeviceModel>, opts: ResolveOptions): ResolvedDevice {
  const details = opts.details ?? {};
  const id = resourceId(device);
  const ns = device.metadata.namespace ?? DEFAULT_NAMESPACE;
  const refName = device.spec.deviceModelRef.name;
  const model = models.get(modelKey(ns, refName));
  if (!model) {
    throw new EdgeTwinError(
      'ET_UNKNOWN_MODEL',
      `Device ${id}: field /spec/deviceModelRef/name: DeviceModel "${refName}" does not exist in namespace "${ns}"`,
      { details: { ...details, path: '/spec/deviceModelRef/name', model: refName } },
    );
  }
  const byName = new Map(model.spec.properties.map((p) => [p.name, p]));
  const properties: ResolvedProperty[] = [];
  const seen = new Set<string>();
  device.spec.properties.forEach((p, i) => {
    const path = `/spec/properties/${i}`;
    const mp = byName.get(p.name);
    if (!mp) {
      throw new EdgeTwinError(
        'ET_UNKNOWN_PROPERTY',
        `Device ${id}: field ${path}/name: property "${p.name}" is not in DeviceModel "${refName}" (it has: ${[...byName.keys()].join(', ') || 'no properties'})`,
        { details: { ...details, path: `${path}/name`, property: p.name } },
      );
    }
    if (seen.has(p.name)) {
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `Device ${id}: field ${path}/name: property "${p.name}" is listed twice`,
        {
          details: { ...details, path: `${path}/name` },
        },
      );
    }
    seen.add(p.name);
    let specDesired: TwinValue | undefined;
    const raw = p.desired?.value;
    if (raw !== undefined && raw !== '') {
      try {
        specDesired = coerceValue(mp.type, raw);
        checkRange(mp, specDesired);
      } catch (err) {
        throw new EdgeTwinError(
          'ET_BAD_VALUE',
          `Device ${id}: field ${path}/desired/value: ${(err as Error).message}`,
          {
            cause: err,
            details: { ...details, path: `${path}/desired/value` },
          },
        );
      }
    }
    properties.push({
      name: p.name,
      model: mp,
      specDesired,
      visitorConfig: { ...(mp.visitors?.configData ?? {}), ...(p.visitors?.configData ?? {}) },
      collectCycle: p.collectCycle ?? 0,
      reportCycle: p.reportCycle ?? 0,
    });
  });
  const resolved: ResolvedDevice = {
    id,
    namespace: ns,
    name: device.metadata.name,
    device,
    model,
    protocolName: device.spec.protocol?.protocolName ?? model.spec.protocol,
    protocolConfig: { ...(model.spec.protocolConfigData ?? {}), ...(device.spec.protocol?.configData ?? {}) },
    properties,
  };
  if (opts.configData) checkConfigData(resolved, opts.configData, details, opts.onlyWrittenConfigData === true);
  return resolved;
}

/**
 * Validates the configData of a resolved device against its protocol's schemas, in place. The
 * messages are the mapper runtime's (`device ID property P visitor configData: field /f: ...`);
 * `details.path` points into the Device document.
 */
function checkConfigData(
  r: ResolvedDevice,
  schemas: ConfigDataSchemas,
  details: ErrorDetails,
  onlyWritten: boolean,
): void {
  const written = (...data: Array<ConfigData | undefined>): boolean =>
    !onlyWritten || data.some((d) => d !== undefined);
  if (written(r.device.spec.protocol?.configData, r.model.spec.protocolConfigData)) {
    r.protocolData = parseWith(
      schemas.protocol,
      r.protocolConfig,
      `device ${r.id} protocol configData`,
      '/spec/protocol/configData',
      { ...details, device: r.id },
    );
  }
  // resolved properties are in the Device's order
  r.properties.forEach((p, i) => {
    if (!written(r.device.spec.properties[i]?.visitors?.configData, p.model.visitors?.configData)) return;
    p.visitorData = parseWith(
      schemas.visitor,
      p.visitorConfig,
      `device ${r.id} property ${p.name} visitor configData`,
      `/spec/properties/${i}/visitors/configData`,
      { ...details, device: r.id, property: p.name },
    );
  });
}

function parseWith(schema: TSchema, value: ConfigData, what: string, at: string, details: ErrorDetails): unknown {
  try {
    return parseConfigData(schema, value, what, details);
  } catch (err) {
    if (!isEdgeTwinError(err, 'ET_SCHEMA')) throw err;
    throw new EdgeTwinError('ET_SCHEMA', err.message, {
      cause: err,
      details: { ...err.details, field: err.details.path, path: `${at}${err.details.path ?? ''}` },
    });
  }
}

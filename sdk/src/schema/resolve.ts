/**
 * Joining a Device with its DeviceModel: the checks every source of devices (YAML files,
 * Kubernetes) runs, and the merge of model-level defaults into the device.
 */
import { EdgeTwinError, type ErrorDetails } from '../errors.js';
import { coerceValue, checkRange, type TwinValue } from './values.js';
import type { ConfigData, Device, DeviceModel, ModelProperty } from './resources.js';
import { DEFAULT_NAMESPACE, resourceId } from './resources.js';

export interface ResolvedProperty {
  name: string;
  model: ModelProperty;
  /** Desired value from the Device spec, typed; undefined when the spec sets none. */
  specDesired: TwinValue | undefined;
  /** Visitor configData: the model's, overridden field by field by the device's. */
  visitorConfig: ConfigData;
  collectCycle: number;
  reportCycle: number;
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
  properties: ResolvedProperty[];
}

/** Models are looked up by `{namespace}/{name}`; a model lives in its device's namespace. */
export function modelKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? DEFAULT_NAMESPACE}/${name}`;
}

/**
 * Checks a Device against the models: the model exists, every property is in the model, desired
 * values fit their types and ranges. Throws EdgeTwinError (ET_UNKNOWN_MODEL, ET_UNKNOWN_PROPERTY,
 * ET_BAD_VALUE) whose `details.path` points into the Device.
 */
export function resolveDevice(
  device: Device,
  models: ReadonlyMap<string, DeviceModel>,
  details: ErrorDetails = {},
): ResolvedDevice {
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
  return {
    id,
    namespace: ns,
    name: device.metadata.name,
    device,
    model,
    protocolName: device.spec.protocol?.protocolName ?? model.spec.protocol,
    protocolConfig: { ...(model.spec.protocolConfigData ?? {}), ...(device.spec.protocol?.configData ?? {}) },
    properties,
  };
}

/**
 * Turns a spec message into the `MapperDevice` a driver sees: sdk `resolveDevice` joins Device and
 * DeviceModel and validates the protocol configData and every property's visitor configData
 * against the mapper's schemas (errors name the device, the property and the field); this module
 * resolves collect and report cycles.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { modelKey, resolveDevice } from '../schema/resolve.js';
import type { MapperDefinition, MapperDevice, MapperProperty, MapperSpecMessage } from './types.js';

export const DEFAULT_COLLECT_CYCLE_MS = 1000;

/** The longest delay a Node.js timer keeps (about 24.8 days); longer ones would fire after 1 ms. */
export const MAX_CYCLE_MS = 2 ** 31 - 1;

/**
 * A cycle as a timer delay. KubeEdge's website samples write `collectCycle: 10000000000` (from the
 * days when cycles were nanoseconds): as milliseconds, as KubeEdge reads them today, that is 115
 * days, and a Node.js timer would overflow to 1 ms and poll the device in a tight loop.
 */
const timerMs = (ms: number): number => Math.min(ms, MAX_CYCLE_MS);

export function toMapperDevice<PS extends TSchema, VS extends TSchema>(
  definition: MapperDefinition<PS, VS>,
  spec: MapperSpecMessage,
): MapperDevice<Static<PS>, Static<VS>> {
  const { device, model } = spec;
  // The spec message carries the device's own model: it is the one its deviceModelRef names.
  const models = new Map([[modelKey(device.metadata.namespace, device.spec.deviceModelRef.name), model]]);
  const resolved = resolveDevice(device, models, {
    configData: { protocol: definition.protocolConfigSchema, visitor: definition.visitorConfigSchema },
  });
  const id = resolved.id;
  // resolveDevice parsed both against the definition's schemas.
  const protocol = resolved.protocolData as Static<PS>;
  const defaults = definition.defaults ?? {};
  const properties: MapperProperty<Static<VS>>[] = resolved.properties.map((p) => {
    const visitor = p.visitorData as Static<VS>;
    const collectCycle = timerMs(
      p.collectCycle > 0 ? p.collectCycle : (defaults.collectCycleMs ?? DEFAULT_COLLECT_CYCLE_MS),
    );
    const reportCycle = timerMs(p.reportCycle > 0 ? p.reportCycle : (defaults.reportCycleMs ?? collectCycle));
    return { name: p.name, model: p.model, visitor, collectCycle, reportCycle };
  });
  return { id, namespace: resolved.namespace, name: resolved.name, protocol, properties, device, model };
}

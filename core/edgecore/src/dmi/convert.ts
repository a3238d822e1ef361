/**
 * EdgeTwin resources as DMI messages, the way KubeEdge's edgecore builds them: the model's
 * visitors and protocolConfigData merged into the device (KubeEdge >= 1.22), configData values
 * packed in Any, desired values as strings. The desired value sent is the twin's current one, so a
 * desired value set over HTTP or MQTT reaches the mapper through UpdateDevice.
 */
import { createHash } from 'node:crypto';
import { formatValue, type DeviceModel, type ResolvedDevice, type TwinValue } from '@edgetwin/sdk';
import { toAnyMap, type AnyMessage } from './any-values.js';

export interface PbTwinProperty {
  value: string;
  metadata: Record<string, string>;
}

export interface PbDeviceProperty {
  name: string;
  desired?: PbTwinProperty;
  visitors: { protocolName: string; configData: { data: Record<string, AnyMessage> } };
  reportCycle: number;
  collectCycle: number;
  reportToCloud: boolean;
  pushMethod?: Record<string, unknown>;
}

export interface PbDevice {
  name: string;
  namespace: string;
  spec: {
    deviceModelReference: string;
    protocol: { protocolName: string; configData: { data: Record<string, AnyMessage> } };
    properties: PbDeviceProperty[];
    methods: { name: string; description: string; propertyNames: string[] }[];
  };
}

export interface PbDeviceModel {
  name: string;
  namespace: string;
  spec: {
    properties: {
      name: string;
      description: string;
      type: string;
      accessMode: string;
      minimum: string;
      maximum: string;
      unit: string;
    }[];
    commands: never[];
  };
}

/** A DeviceProperty's pushMethod as DMI's PushMethod (mqtt and http keep their field names). */
function pushMethodOf(p: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of ['mqtt', 'http', 'otel', 'dbMethod'] as const) if (p[key] !== undefined) out[key] = p[key];
  return Object.keys(out).length > 0 ? out : undefined;
}

export function toPbDevice(
  d: ResolvedDevice,
  desired: Record<string, { value: TwinValue; updatedAt: number }>,
): PbDevice {
  const specProps = new Map(d.device.spec.properties.map((p) => [p.name, p]));
  return {
    name: d.name,
    namespace: d.namespace,
    spec: {
      deviceModelReference: d.device.spec.deviceModelRef.name,
      protocol: { protocolName: d.protocolName ?? '', configData: { data: toAnyMap(d.protocolConfig) } },
      properties: d.properties.map((p) => {
        const spec = specProps.get(p.name);
        const prop: PbDeviceProperty = {
          name: p.name,
          visitors: {
            protocolName: spec?.visitors?.protocolName ?? p.model.visitors?.protocolName ?? d.protocolName ?? '',
            configData: { data: toAnyMap(p.visitorConfig) },
          },
          reportCycle: p.reportCycle,
          collectCycle: p.collectCycle,
          reportToCloud: spec?.reportToCloud ?? false,
        };
        const want = desired[p.name];
        if (want) {
          prop.desired = { value: formatValue(want.value), metadata: { timestamp: String(want.updatedAt) } };
        }
        const push = pushMethodOf(spec?.pushMethod);
        if (push) prop.pushMethod = push;
        return prop;
      }),
      methods: (d.device.spec.methods ?? []).map((m) => ({
        name: m.name,
        description: m.description ?? '',
        propertyNames: m.propertyNames ?? [],
      })),
    },
  };
}

export function toPbModel(m: DeviceModel): PbDeviceModel {
  return {
    name: m.metadata.name,
    namespace: m.metadata.namespace ?? 'default',
    spec: {
      properties: m.spec.properties.map((p) => ({
        name: p.name,
        description: p.description ?? '',
        type: p.type,
        accessMode: p.accessMode ?? 'ReadWrite',
        minimum: p.minimum === undefined ? '' : String(p.minimum),
        maximum: p.maximum === undefined ? '' : String(p.maximum),
        unit: p.unit ?? '',
      })),
      commands: [],
    },
  };
}

/**
 * What a mapper was last sent for a device, as a short hash: UpdateDevice goes out only when the
 * spec or a desired value really changed, not on every report (Buffers stringify as their bytes).
 */
export function deviceHash(pb: PbDevice): string {
  return createHash('sha256').update(JSON.stringify(pb)).digest('base64url').slice(0, 22);
}

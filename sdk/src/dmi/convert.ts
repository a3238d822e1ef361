/**
 * EdgeTwin resources as DMI messages and back. `toPbDevice`/`toPbModel` build them the way
 * KubeEdge's edgecore does: the model's visitors and protocolConfigData merged into the device
 * (KubeEdge >= 1.22), configData values packed in Any, desired values as strings (the twin's
 * current ones, so a desired value set over HTTP or MQTT reaches the mapper through UpdateDevice).
 * `fromPbDevice` is the mapper's side: the Device and DeviceModel resources the mapper runtime
 * validates, and the desired values with their versions.
 */
import { createHash } from 'node:crypto';
import type { Device, DeviceModel, PropertyType } from '../schema/resources.js';
import type { ResolvedDevice } from '../schema/resolve.js';
import { formatValue, type TwinValue } from '../schema/values.js';
import { fromAnyMap, toAnyMap } from './any-values.js';
import type { PbDevice, PbDeviceModel, PbDeviceProperty } from './messages.js';

/** A desired value as the twin holds it: `version` and the write outcome's `status` are EdgeTwin metadata. */
export interface DesiredForDmi {
  value: TwinValue;
  updatedAt: number;
  version?: number;
  write?: { status: string };
}

/** A DeviceProperty's pushMethod as DMI's PushMethod (mqtt and http keep their field names). */
function pushMethodOf(p: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of ['mqtt', 'http', 'otel', 'dbMethod'] as const) if (p[key] !== undefined) out[key] = p[key];
  return Object.keys(out).length > 0 ? out : undefined;
}

export function toPbDevice(d: ResolvedDevice, desired: Record<string, DesiredForDmi>): PbDevice {
  const specProps = new Map(d.device.spec.properties.map((p) => [p.name, p]));
  // Only the model's properties: a twin added for another key (KubeEdge's `$hw` twin/update adds
  // one) has no visitor and means nothing to a mapper.
  const modelProps = new Set(d.model.spec.properties.map((p) => p.name));
  return {
    name: d.name,
    namespace: d.namespace,
    spec: {
      deviceModelReference: d.device.spec.deviceModelRef.name,
      protocol: { protocolName: d.protocolName ?? '', configData: { data: toAnyMap(d.protocolConfig) } },
      properties: d.properties
        .filter((p) => modelProps.has(p.name))
        .map((p) => {
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
            const metadata: Record<string, string> = { timestamp: String(want.updatedAt) };
            if (want.version !== undefined) metadata.version = String(want.version);
            const status = want.write?.status;
            if (status === 'applied' || status === 'failed') metadata.status = status;
            prop.desired = { value: formatValue(want.value), metadata };
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

/** A desired value as a mapper receives it. */
export interface DmiDesired {
  value: string;
  /** The twin's desired version (EdgeTwin metadata), when edgecore sent one. */
  version?: number;
  /** `applied` or `failed`: that version's write already has an outcome (not written again). */
  status?: 'applied' | 'failed';
}

/** A DMI Device (and its model) as the resources the mapper runtime validates. */
export interface DmiDeviceSpec {
  device: Device;
  model: DeviceModel;
  desired: Map<string, DmiDesired>;
}

const numberOrString = (s: string): number | string | undefined => {
  if (s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
};

/**
 * The Device and DeviceModel a DMI Device message describes. Visitors and protocol configData
 * arrive merged (KubeEdge >= 1.22), so the model carries none. Throws on a configData value that
 * is not a google.protobuf wrapper.
 */
export function fromPbDevice(pb: PbDevice, model: PbDeviceModel | undefined, nodeName: string): DmiDeviceSpec {
  const spec = pb.spec;
  const protocolName = spec?.protocol?.protocolName ?? '';
  const namespace = pb.namespace || 'default';
  const desired = new Map<string, DmiDesired>();
  const properties = (spec?.properties ?? []).map((p) => {
    const want = p.desired;
    if (want && want.value !== '') {
      const version = Number(want.metadata?.version);
      const status = want.metadata?.status;
      desired.set(p.name, {
        value: want.value,
        ...(Number.isSafeInteger(version) && version > 0 ? { version } : {}),
        ...(status === 'applied' || status === 'failed' ? { status } : {}),
      });
    }
    return {
      name: p.name,
      visitors: {
        protocolName: p.visitors?.protocolName || protocolName,
        configData: fromAnyMap(p.visitors?.configData?.data),
      },
      ...(p.collectCycle > 0 ? { collectCycle: p.collectCycle } : {}),
      ...(p.reportCycle > 0 ? { reportCycle: p.reportCycle } : {}),
      ...(p.reportToCloud ? { reportToCloud: true } : {}),
    };
  });
  const modelName = spec?.deviceModelReference || model?.name || '';
  const device: Device = {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'Device',
    metadata: { name: pb.name, namespace },
    spec: {
      deviceModelRef: { name: modelName },
      nodeName,
      protocol: { protocolName, configData: fromAnyMap(spec?.protocol?.configData?.data) },
      properties,
    },
  };
  const deviceModel: DeviceModel = {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'DeviceModel',
    metadata: { name: modelName, namespace: model?.namespace || namespace },
    spec: {
      protocol: protocolName,
      properties: (model?.spec?.properties ?? []).map((p) => {
        const minimum = numberOrString(p.minimum);
        const maximum = numberOrString(p.maximum);
        return {
          name: p.name,
          type: p.type as PropertyType,
          ...(p.description ? { description: p.description } : {}),
          ...(p.accessMode === 'ReadOnly' || p.accessMode === 'ReadWrite' ? { accessMode: p.accessMode } : {}),
          ...(minimum === undefined ? {} : { minimum }),
          ...(maximum === undefined ? {} : { maximum }),
          ...(p.unit ? { unit: p.unit } : {}),
        };
      }),
    },
  };
  return { device, model: deviceModel, desired };
}

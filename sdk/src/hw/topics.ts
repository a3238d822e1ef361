/**
 * MQTT topic names of the edge broker. Part 1 is KubeEdge's `$hw/events/...` twin protocol, device
 * id `{namespace}/{name}`; part 2 the data topics for edge apps; part 3 EdgeTwin's own topics
 * (specs for mappers).
 */
import { DEFAULT_NAMESPACE } from '../schema/resources.js';

export interface DeviceRef {
  namespace: string;
  name: string;
}

export const deviceId = (d: DeviceRef): string => `${d.namespace}/${d.name}`;

export function parseDeviceId(id: string): DeviceRef {
  const i = id.indexOf('/');
  return i < 0 ? { namespace: DEFAULT_NAMESPACE, name: id } : { namespace: id.slice(0, i), name: id.slice(i + 1) };
}

const HW_DEVICE = '$hw/events/device';
const HW_NODE = '$hw/events/node';

/** `$hw/events/device/{ns}/{name}/...` topics. */
export const hwTopics = {
  twinUpdate: (d: DeviceRef) => `${HW_DEVICE}/${deviceId(d)}/twin/update`,
  twinUpdateResult: (d: DeviceRef) => `${HW_DEVICE}/${deviceId(d)}/twin/update/result`,
  twinUpdateDocument: (d: DeviceRef) => `${HW_DEVICE}/${deviceId(d)}/twin/update/document`,
  twinUpdateDelta: (d: DeviceRef) => `${HW_DEVICE}/${deviceId(d)}/twin/update/delta`,
  twinGet: (d: DeviceRef) => `${HW_DEVICE}/${deviceId(d)}/twin/get`,
  twinGetResult: (d: DeviceRef) => `${HW_DEVICE}/${deviceId(d)}/twin/get/result`,
  stateUpdate: (d: DeviceRef) => `${HW_DEVICE}/${deviceId(d)}/state/update`,
  stateUpdateResult: (d: DeviceRef) => `${HW_DEVICE}/${deviceId(d)}/state/update/result`,
  membershipGet: (node: string) => `${HW_NODE}/${node}/membership/get`,
  membershipGetResult: (node: string) => `${HW_NODE}/${node}/membership/get/result`,
  membershipUpdated: (node: string) => `${HW_NODE}/${node}/membership/updated`,
  /** What edgecore subscribes to for requests from mappers and apps. */
  requestFilters: [
    `${HW_DEVICE}/+/+/twin/update`,
    `${HW_DEVICE}/+/+/twin/get`,
    `${HW_DEVICE}/+/+/state/update`,
    // KubeEdge-era single-segment ids map to the default namespace.
    `${HW_DEVICE}/+/twin/update`,
    `${HW_DEVICE}/+/twin/get`,
    `${HW_DEVICE}/+/state/update`,
    `${HW_NODE}/+/membership/get`,
  ],
  deltaFilter: `${HW_DEVICE}/+/+/twin/update/delta`,
} as const;

export type HwRequest =
  { kind: 'twin/update' | 'twin/get' | 'state/update'; device: DeviceRef } | { kind: 'membership/get'; node: string };

/** Recognizes a request topic (one edgecore answers); results and events return undefined. */
export function parseHwRequestTopic(topic: string): HwRequest | undefined {
  const parts = topic.split('/');
  if (parts[0] !== '$hw' || parts[1] !== 'events') return undefined;
  if (parts[2] === 'node' && parts.length === 6 && parts[4] === 'membership' && parts[5] === 'get') {
    return { kind: 'membership/get', node: parts[3]! };
  }
  if (parts[2] !== 'device') return undefined;
  const rest = parts.slice(3);
  // {ns}/{name}/{a}/{b} or legacy {name}/{a}/{b}
  const tail = rest.slice(-2).join('/');
  const idParts = rest.slice(0, -2);
  if (tail !== 'twin/update' && tail !== 'twin/get' && tail !== 'state/update') return undefined;
  if (idParts.length === 2) return { kind: tail, device: { namespace: idParts[0]!, name: idParts[1]! } };
  if (idParts.length === 1) return { kind: tail, device: { namespace: DEFAULT_NAMESPACE, name: idParts[0]! } };
  return undefined;
}

/** Data topics for edge apps; `base` defaults to `devices`. */
export function dataTopics(base = 'devices') {
  return {
    property: (d: DeviceRef, property: string) => `${base}/${deviceId(d)}/${property}`,
    state: (d: DeviceRef) => `${base}/${deviceId(d)}/state`,
    set: (d: DeviceRef, property: string) => `${base}/${deviceId(d)}/${property}/set`,
    setFilter: `${base}/+/+/+/set`,
    /** Parses `{base}/{ns}/{name}/{property}/set`. */
    parseSet(topic: string): { device: DeviceRef; property: string } | undefined {
      if (!topic.startsWith(`${base}/`)) return undefined;
      const parts = topic.slice(base.length + 1).split('/');
      if (parts.length !== 4 || parts[3] !== 'set') return undefined;
      return { device: { namespace: parts[0]!, name: parts[1]! }, property: parts[2]! };
    },
  };
}

/**
 * The retained spec topics of EdgeTwin versions before DMI (one message per device of a node with
 * the Device and its DeviceModel). Mappers get their specs over DMI now and edgecore publishes none;
 * it clears any it finds for its node, and only edgecore may use these topics.
 */
export const specTopics = {
  device: (node: string, d: DeviceRef) => `edgetwin/v1/nodes/${node}/devices/${deviceId(d)}`,
  filter: (node: string) => `edgetwin/v1/nodes/${node}/devices/+/+`,
  parse(topic: string): { node: string; device: DeviceRef } | undefined {
    const p = topic.split('/');
    if (p.length !== 7 || p[0] !== 'edgetwin' || p[1] !== 'v1' || p[2] !== 'nodes' || p[4] !== 'devices')
      return undefined;
    return { node: p[3]!, device: { namespace: p[5]!, name: p[6]! } };
  },
} as const;

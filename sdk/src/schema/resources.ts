/**
 * The KubeEdge `devices.kubeedge.io/v1beta1` resources, defined once with TypeBox. The same
 * objects give the TypeScript types, runtime validation, the CRD openAPIV3Schema and the HTTP
 * OpenAPI document. Field names follow KubeEdge so existing YAML applies unchanged; numbers that
 * KubeEdge keeps as strings (minimum, maximum) accept either form.
 */
import type { Static } from '@sinclair/typebox';
import { Type } from '../typebox.js';

export const API_GROUP = 'devices.kubeedge.io';
export const API_VERSION = 'devices.kubeedge.io/v1beta1';

/**
 * KubeEdge's property types. STREAM (camera frames, video: KubeEdge's ONVIF and USB camera mappers)
 * is handled by the mapper itself; its twin value, if a mapper reports one, is a string.
 */
export const PropertyTypes = ['INT', 'FLOAT', 'DOUBLE', 'STRING', 'BOOLEAN', 'BYTES', 'STREAM'] as const;
export const PropertyTypeSchema = Type.Union(
  PropertyTypes.map((t) => Type.Literal(t)),
  { description: 'Value type of the property.' },
);
export type PropertyType = (typeof PropertyTypes)[number];

export const AccessModeSchema = Type.Union([Type.Literal('ReadWrite'), Type.Literal('ReadOnly')], {
  description: 'ReadOnly properties accept no desired value.',
});
export type AccessMode = Static<typeof AccessModeSchema>;

/** Protocol-specific configuration; each mapper validates it with its own schema. */
export const ConfigDataSchema = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Protocol-specific settings, validated by the mapper of the protocol.',
  'x-kubernetes-preserve-unknown-fields': true,
});
export type ConfigData = Static<typeof ConfigDataSchema>;

const NumberOrString = Type.Union([Type.Number(), Type.String({ pattern: '^-?[0-9.eE+-]+$' })]);

export const ObjectMetaSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }),
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' })),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
    resourceVersion: Type.Optional(Type.String()),
    uid: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer()),
  },
  { additionalProperties: true },
);
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

export const VisitorConfigSchema = Type.Object(
  {
    protocolName: Type.Optional(Type.String()),
    configData: Type.Optional(ConfigDataSchema),
  },
  { additionalProperties: true },
);
export type VisitorConfig = Static<typeof VisitorConfigSchema>;

export const ModelPropertySchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-zA-Z0-9-_.,:/@#]{1,128}$', description: 'Property name (twin key).' }),
    description: Type.Optional(Type.String()),
    type: PropertyTypeSchema,
    accessMode: Type.Optional(AccessModeSchema),
    minimum: Type.Optional(NumberOrString),
    maximum: Type.Optional(NumberOrString),
    unit: Type.Optional(Type.String()),
    visitors: Type.Optional(VisitorConfigSchema),
  },
  { additionalProperties: true },
);
export type ModelProperty = Static<typeof ModelPropertySchema>;

export const DeviceModelSpecSchema = Type.Object(
  {
    protocol: Type.Optional(Type.String({ description: 'Protocol name, e.g. modbus, opcua, bluetooth, zigbee.' })),
    properties: Type.Array(ModelPropertySchema, { default: [] }),
    protocolConfigData: Type.Optional(ConfigDataSchema),
  },
  { additionalProperties: true },
);

export const DeviceModelSchema = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal('DeviceModel'),
    metadata: ObjectMetaSchema,
    spec: DeviceModelSpecSchema,
  },
  { additionalProperties: true, $id: 'DeviceModel' },
);
export type DeviceModel = Static<typeof DeviceModelSchema>;

export const TwinPropertySchema = Type.Object(
  {
    value: Type.String({ description: 'The value as a string (KubeEdge wire form).' }),
    metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: true },
);
export type TwinProperty = Static<typeof TwinPropertySchema>;

export const PushMethodSchema = Type.Object(
  {
    mqtt: Type.Optional(
      Type.Object(
        {
          address: Type.Optional(Type.String()),
          topic: Type.Optional(Type.String()),
          qos: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 })),
          retained: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);

export const DevicePropertySchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-zA-Z0-9-_.,:/@#]{1,128}$' }),
    desired: Type.Optional(TwinPropertySchema),
    visitors: Type.Optional(VisitorConfigSchema),
    reportToCloud: Type.Optional(Type.Boolean()),
    collectCycle: Type.Optional(Type.Integer({ minimum: 0, description: 'Milliseconds; 0 = default.' })),
    reportCycle: Type.Optional(Type.Integer({ minimum: 0, description: 'Milliseconds; 0 = default.' })),
    pushMethod: Type.Optional(PushMethodSchema),
  },
  { additionalProperties: true },
);
export type DeviceProperty = Static<typeof DevicePropertySchema>;

export const DeviceMethodSchema = Type.Object(
  {
    name: Type.String(),
    description: Type.Optional(Type.String()),
    propertyNames: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: true },
);

export const ProtocolConfigSchema = Type.Object(
  {
    protocolName: Type.String({ minLength: 1 }),
    configData: Type.Optional(ConfigDataSchema),
  },
  { additionalProperties: true },
);

export const DeviceSpecSchema = Type.Object(
  {
    deviceModelRef: Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: true }),
    nodeName: Type.Optional(Type.String()),
    protocol: Type.Optional(ProtocolConfigSchema),
    properties: Type.Array(DevicePropertySchema, { default: [] }),
    methods: Type.Optional(Type.Array(DeviceMethodSchema)),
  },
  { additionalProperties: true },
);
export type DeviceSpec = Static<typeof DeviceSpecSchema>;

export const TwinStatusSchema = Type.Object(
  {
    propertyName: Type.String(),
    reported: Type.Optional(TwinPropertySchema),
    observedDesired: Type.Optional(TwinPropertySchema),
  },
  { additionalProperties: true },
);

export const DeviceStatusSchema = Type.Object(
  {
    twins: Type.Optional(Type.Array(TwinStatusSchema)),
    state: Type.Optional(Type.String()),
    lastOnlineTime: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type DeviceStatus = Static<typeof DeviceStatusSchema>;

export const DeviceSchema = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal('Device'),
    metadata: ObjectMetaSchema,
    spec: DeviceSpecSchema,
    status: Type.Optional(DeviceStatusSchema),
  },
  { additionalProperties: true, $id: 'Device' },
);
export type Device = Static<typeof DeviceSchema>;

export const DEFAULT_NAMESPACE = 'default';

/** `{namespace}/{name}`: the device id used in `$hw` topics and the HTTP API. */
export function resourceId(obj: { metadata: { name: string; namespace?: string | undefined } }): string {
  return `${obj.metadata.namespace ?? DEFAULT_NAMESPACE}/${obj.metadata.name}`;
}

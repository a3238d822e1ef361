/** The ZigBee mapper's configData schemas (protocol: which device; visitor: which ZCL attribute). */
import type { Static } from '@sinclair/typebox';
import type { ConfigDataSchemas } from '@edgetwin/sdk';
import { Type } from '@edgetwin/sdk/typebox';

export const ADAPTERS = ['zstack', 'ember', 'deconz', 'zigate', 'zboss', 'zoh'] as const;

export const ZigbeeProtocolConfigSchema = Type.Object(
  {
    ieeeAddress: Type.String({
      pattern: '^0x[0-9a-fA-F]{16}$',
      description: 'IEEE (EUI-64) address of the device, e.g. 0x00124b0000000101',
    }),
    endpoint: Type.Integer({ minimum: 1, maximum: 240, default: 1, description: 'ZCL endpoint (default 1)' }),
    coordinator: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'serial path or tcp://host:port of the coordinator (default: the mapper default)',
      }),
    ),
    adapter: Type.Optional(
      Type.Union(
        ADAPTERS.map((a) => Type.Literal(a)),
        { description: 'herdsman adapter type' },
      ),
    ),
    channel: Type.Optional(Type.Integer({ minimum: 11, maximum: 26, description: 'radio channel 11..26' })),
    panId: Type.Optional(Type.Integer({ minimum: 1, maximum: 0xfffe, description: 'PAN id 1..65534' })),
  },
  { additionalProperties: false },
);
export type ZigbeeProtocolConfig = Static<typeof ZigbeeProtocolConfigSchema>;

export const ZigbeeVisitorConfigSchema = Type.Object(
  {
    cluster: Type.String({ minLength: 1, description: 'ZCL cluster name, e.g. msTemperatureMeasurement or genOnOff' }),
    attribute: Type.String({ minLength: 1, description: 'ZCL attribute name, e.g. measuredValue or onOff' }),
    scale: Type.Number({
      default: 1,
      exclusiveMinimum: 0,
      description: 'twin value = ZCL value * scale (0.01 for centi-degrees)',
    }),
    endpoint: Type.Optional(Type.Integer({ minimum: 1, maximum: 240, description: 'overrides the device endpoint' })),
  },
  { additionalProperties: false },
);
export type ZigbeeVisitorConfig = Static<typeof ZigbeeVisitorConfigSchema>;

/** The coordinator a device is served by, after defaults. */
export interface CoordinatorConfig {
  /** Serial path or `tcp://host:port`. */
  path: string;
  adapter: (typeof ADAPTERS)[number];
  channel: number;
  panId: number;
}

/**
 * Both configData schemas, the package's `./config` entry: edgecore imports it (lazily, when this
 * package is installed) to check each Device's configData when its devices directory loads. This
 * module depends on the sdk and TypeBox only, never on the protocol library.
 */
export const configDataSchemas = {
  protocol: ZigbeeProtocolConfigSchema,
  visitor: ZigbeeVisitorConfigSchema,
} satisfies ConfigDataSchemas;

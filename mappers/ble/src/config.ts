/**
 * The BLE mapper's configData schemas: one definition gives the TypeScript types, validation and
 * defaults. Field names follow KubeEdge's bluetooth mapper (`macAddress`, `characteristicUUID`,
 * `dataConverter`, `dataWrite`) so existing YAML applies unchanged; `codec` is our typed decoder.
 */
import type { Static } from '@sinclair/typebox';
import type { ConfigDataSchemas } from '@edgetwin/sdk';
import { Type } from '@edgetwin/sdk/typebox';

export const BLE_PROTOCOL = 'bluetooth';

export const BindingsKinds = ['hci', 'websocket', 'sim'] as const;
export type BindingsKind = (typeof BindingsKinds)[number];

const MAC = '^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$';
/** 16-bit ("2a6e"), 32-bit or 128-bit UUIDs, with or without dashes, any case. */
const UUID =
  '^([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8}|[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12})$';

export const BleProtocolConfigSchema = Type.Object(
  {
    macAddress: Type.String({ pattern: MAC, description: 'Address of the peripheral, e.g. "a4:c1:38:00:00:01".' }),
    scanTimeoutMs: Type.Integer({
      minimum: 100,
      default: 5_000,
      description: 'How long to scan for the peripheral before a connect attempt fails (ms).',
    }),
    connectTimeoutMs: Type.Integer({
      minimum: 100,
      default: 5_000,
      description: 'Connect and GATT discovery timeout (ms).',
    }),
    reconnectIntervalMs: Type.Integer({
      minimum: 0,
      default: 1_000,
      description: 'Least time between losing the link and the next scan for the peripheral (ms).',
    }),
  },
  { additionalProperties: true },
);
export type BleProtocolConfig = Static<typeof BleProtocolConfigSchema>;

export const OperationTypes = ['Add', 'Subtract', 'Multiply', 'Divide'] as const;
/** KubeEdge compares operation types case-insensitively. */
const OPERATION = `^(${OperationTypes.map((o) => [...o].map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).join('')).join('|')})$`;

/** KubeEdge's `dataConverter`: a byte range read as one number, shifted, then arithmetic. */
export const DataConverterSchema = Type.Object(
  {
    startIndex: Type.Integer({ minimum: 0, default: 0 }),
    endIndex: Type.Integer({ minimum: 0, default: 0 }),
    shiftLeft: Type.Optional(Type.Integer({ minimum: 0, maximum: 63 })),
    shiftRight: Type.Optional(Type.Integer({ minimum: 0, maximum: 63 })),
    orderOfOperations: Type.Optional(
      Type.Array(
        Type.Object(
          {
            operationType: Type.String({
              pattern: OPERATION,
              description: 'Add, Subtract, Multiply or Divide (any case).',
            }),
            operationValue: Type.Union([Type.Number(), Type.String({ pattern: '^-?[0-9.eE+-]+$' })]),
          },
          { additionalProperties: true },
        ),
      ),
    ),
  },
  { additionalProperties: true },
);
export type DataConverter = Static<typeof DataConverterSchema>;

export const CodecFormats = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'float64',
  'utf8',
  'raw',
] as const;
export type CodecFormat = (typeof CodecFormats)[number];

/** The typed decoder/encoder: value = raw * scale + offset, raw read at `byteOffset`. */
export const TypedCodecSchema = Type.Object(
  {
    format: Type.Union(
      CodecFormats.map((f) => Type.Literal(f)),
      { description: 'How the bytes hold the value.' },
    ),
    byteOffset: Type.Integer({ minimum: 0, default: 0 }),
    endianness: Type.Union([Type.Literal('little'), Type.Literal('big')], {
      default: 'little',
      description: 'Byte order; Bluetooth GATT values are little-endian.',
    }),
    scale: Type.Number({ default: 1 }),
    offset: Type.Number({ default: 0 }),
  },
  { additionalProperties: false },
);
export type TypedCodec = Static<typeof TypedCodecSchema>;

const ByteValues = Type.Union([
  Type.Array(Type.Integer({ minimum: 0, maximum: 255 })),
  Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'base64, as Go marshals []byte' }),
]);

export const BleVisitorConfigSchema = Type.Object(
  {
    serviceUUID: Type.Optional(
      Type.String({ pattern: UUID, description: 'GATT service; when absent every service is searched.' }),
    ),
    characteristicUUID: Type.String({ pattern: UUID, description: 'GATT characteristic holding the value.' }),
    dataConverter: Type.Optional(DataConverterSchema),
    dataWrite: Type.Optional(
      Type.Record(Type.String(), ByteValues, { description: 'desired value -> bytes, e.g. {"ON": [1], "OFF": [0]}' }),
    ),
    codec: Type.Optional(TypedCodecSchema),
    notify: Type.Boolean({
      default: true,
      description: 'Subscribe when the characteristic can notify or indicate; false always polls.',
    }),
    writeWithoutResponse: Type.Boolean({ default: false }),
  },
  { additionalProperties: true },
);
export type BleVisitorConfig = Static<typeof BleVisitorConfigSchema>;

/** noble's form of a UUID: lower case, no dashes. */
export function normalizeUuid(uuid: string): string {
  return uuid.replace(/-/g, '').toLowerCase();
}

/** noble's form of an address: lower case, colon separated. */
export function normalizeMac(mac: string): string {
  return mac.replace(/-/g, ':').toLowerCase();
}

/**
 * Both configData schemas, the package's `./config` entry: edgecore imports it (lazily, when this
 * package is installed) to check each Device's configData when its devices directory loads. This
 * module depends on the sdk and TypeBox only, never on the protocol library.
 */
export const configDataSchemas = {
  protocol: BleProtocolConfigSchema,
  visitor: BleVisitorConfigSchema,
} satisfies ConfigDataSchemas;

/**
 * The Modbus configData schemas: KubeEdge's protocol and visitor fields (so existing Device YAML
 * applies unchanged) plus EdgeTwin's additions. Defaults live here; `parseWithSchema` applies them.
 */
import type { Static } from '@sinclair/typebox';
import type { ConfigDataSchemas } from '@edgetwin/sdk';
import { Type } from '@edgetwin/sdk/typebox';

export const RegisterTables = ['CoilRegister', 'DiscreteInputRegister', 'HoldingRegister', 'InputRegister'] as const;
export type RegisterTable = (typeof RegisterTables)[number];

export const DataTypes = [
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'boolean',
  'string',
] as const;
export type DataType = (typeof DataTypes)[number];

/**
 * KubeEdge's spellings accepted in `dataType`, read the way KubeEdge's Modbus mappers read them
 * (`normalizeDataType`): `int` is unsigned, 16/32/64 bits by `limit`; `float` and `double` with
 * `limit: 1` are one unsigned 16-bit register times `scale` (KubeEdge's temperature sample).
 */
export const DataTypeAliases = ['int', 'float', 'double', 'bool'] as const;

const literals = <const T extends string>(values: readonly T[], description: string, extra = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, ...extra },
  );

export const ModbusProtocolConfigSchema = Type.Object(
  {
    communicateMode: literals(['TCP', 'RTU'], 'Modbus TCP (ip, port) or Modbus RTU over a serial port.', {
      default: 'TCP',
    }),
    ip: Type.Optional(Type.String({ minLength: 1, description: 'TCP: host name or address of the slave or gateway.' })),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 502, description: 'TCP port.' }),
    slaveID: Type.Integer({ minimum: 0, maximum: 247, default: 1, description: 'Modbus unit (slave) id.' }),
    serialPort: Type.Optional(Type.String({ minLength: 1, description: 'RTU: serial device, e.g. /dev/ttyUSB0.' })),
    serialName: Type.Optional(
      Type.String({ minLength: 1, description: "RTU: KubeEdge's name for serialPort (either may be given)." }),
    ),
    baudRate: Type.Integer({ minimum: 50, default: 19200, description: 'RTU: bits per second.' }),
    dataBits: Type.Integer({ minimum: 5, maximum: 8, default: 8, description: 'RTU: data bits.' }),
    parity: literals(['none', 'even', 'odd', 'N', 'E', 'O'], 'RTU: parity.', { default: 'even' }),
    stopBits: Type.Integer({ minimum: 1, maximum: 2, default: 1, description: 'RTU: stop bits.' }),
    timeout: Type.Integer({ minimum: 10, default: 1000, description: 'Milliseconds to wait for an answer.' }),
    connectTimeout: Type.Integer({ minimum: 10, default: 5000, description: 'Milliseconds to open the connection.' }),
    maxGap: Type.Integer({
      minimum: 0,
      maximum: 125,
      default: 10,
      description: 'Unused registers the planner may read to merge two reads (bits: 16 times as many).',
    }),
    maxRegistersPerRequest: Type.Integer({ minimum: 1, maximum: 125, default: 125 }),
    maxBitsPerRequest: Type.Integer({ minimum: 1, maximum: 2000, default: 2000 }),
    backoffInitialMs: Type.Integer({
      minimum: 0,
      default: 1000,
      description: 'After a timeout a slave is skipped for this long, doubling up to backoffMaxMs.',
    }),
    backoffMaxMs: Type.Integer({ minimum: 0, default: 30000 }),
  },
  { additionalProperties: true },
);
export type ModbusProtocolConfig = Static<typeof ModbusProtocolConfigSchema>;

export const ModbusVisitorConfigSchema = Type.Object(
  {
    register: literals(RegisterTables, 'The register table.'),
    offset: Type.Integer({ minimum: 0, maximum: 65535, description: 'Address (0-based) in the table.' }),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 125,
        description:
          'Registers to read: for strings the length; with a KubeEdge dataType alias (int, float, double) the width (1, 2 or 4 registers). Default: what dataType needs.',
      }),
    ),
    dataType: Type.Optional(
      literals(
        [...DataTypes, ...DataTypeAliases],
        'Value encoding (default: from the model type: INT int16, FLOAT float32, DOUBLE float64, BOOLEAN boolean, STRING string).',
      ),
    ),
    scale: Type.Number({ default: 1, description: 'value = raw * scale + valueOffset (inverse on write).' }),
    valueOffset: Type.Number({ default: 0 }),
    isSwap: Type.Boolean({ default: false, description: 'Bytes swapped within each 16-bit word.' }),
    isRegisterSwap: Type.Boolean({ default: false, description: 'Word order reversed (low word first).' }),
    bit: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 15, description: 'A single bit (0 = least significant) of a register.' }),
    ),
    deadband: Type.Number({
      minimum: 0,
      default: 0,
      description: 'A numeric value is reported again only when it moved more than this.',
    }),
    writeMultiple: Type.Boolean({
      default: false,
      description: 'Write with function 15/16 even for one coil or register (for devices without 5/6).',
    }),
  },
  { additionalProperties: true },
);
export type ModbusVisitorConfig = Static<typeof ModbusVisitorConfigSchema>;

/** Resolves aliases and the model-type default to a concrete data type. */
export function normalizeDataType(
  v: Pick<ModbusVisitorConfig, 'dataType' | 'register' | 'limit' | 'bit'>,
  modelType: string,
): DataType {
  if (v.register === 'CoilRegister' || v.register === 'DiscreteInputRegister' || v.bit !== undefined) return 'boolean';
  switch (v.dataType) {
    case 'int':
      return v.limit === 4 ? 'uint64' : v.limit === 2 ? 'uint32' : 'uint16';
    case 'float':
      return v.limit === 1 ? 'uint16' : v.limit === 4 ? 'float64' : 'float32';
    case 'double':
      return v.limit === 1 ? 'uint16' : 'float64';
    case 'bool':
      return 'boolean';
    case undefined:
      break;
    default:
      return v.dataType;
  }
  switch (modelType) {
    case 'FLOAT':
      return v.limit === 1 ? 'int16' : v.limit === 4 ? 'float64' : 'float32';
    case 'DOUBLE':
      return v.limit === 1 ? 'int16' : 'float64';
    case 'BOOLEAN':
      return 'boolean';
    case 'STRING':
    case 'STREAM':
    case 'BYTES':
      return 'string';
    default:
      return v.limit === 4 ? 'int64' : v.limit === 2 ? 'int32' : 'int16';
  }
}

export function isBitTable(table: RegisterTable): boolean {
  return table === 'CoilRegister' || table === 'DiscreteInputRegister';
}

export function isWritableTable(table: RegisterTable): boolean {
  return table === 'CoilRegister' || table === 'HoldingRegister';
}

/** The serial device of an RTU config: `serialPort`, or KubeEdge's `serialName`. */
export function serialDeviceOf(p: Pick<ModbusProtocolConfig, 'serialPort' | 'serialName'>): string | undefined {
  return p.serialPort ?? p.serialName;
}

/**
 * Both configData schemas, the package's `./config` entry: edgecore imports it (lazily, when this
 * package is installed) to check each Device's configData when its devices directory loads. This
 * module depends on the sdk and TypeBox only, never on the protocol library.
 */
export const configDataSchemas = {
  protocol: ModbusProtocolConfigSchema,
  visitor: ModbusVisitorConfigSchema,
} satisfies ConfigDataSchemas;

/**
 * Codec: OPC UA Variants <-> typed twin values. Writes use the node's real DataType (an Int16 node
 * gets an Int16 Variant, range-checked); reads turn any scalar into the property's model type.
 * 64-bit integers travel in node-opcua as [high, low] 32-bit words (two's complement).
 */
import { DataType, Variant, VariantArrayType, type DataValue } from 'node-opcua-client';
import { EdgeTwinError, type PropertyType, type TwinValue } from '@edgetwin/sdk';
import { type Reading } from '@edgetwin/sdk/mapper';
import type { OpcuaDataTypeName } from '../config.js';

const TWO32 = 0x1_0000_0000n;
const TWO64 = 0x1_0000_0000_0000_0000n;

const INT_RANGES: Partial<Record<DataType, readonly [bigint, bigint]>> = {
  [DataType.SByte]: [-128n, 127n],
  [DataType.Byte]: [0n, 255n],
  [DataType.Int16]: [-32768n, 32767n],
  [DataType.UInt16]: [0n, 65535n],
  [DataType.Int32]: [-2147483648n, 2147483647n],
  [DataType.UInt32]: [0n, 4294967295n],
  [DataType.Int64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [DataType.UInt64]: [0n, 2n ** 64n - 1n],
};

export function dataTypeFromName(name: OpcuaDataTypeName): DataType {
  return DataType[name];
}

export function dataTypeName(t: DataType): string {
  return DataType[t] ?? `DataType(${t})`;
}

/** [high, low] words -> bigint; `signed` for Int64. */
export function wordsToBigInt(words: readonly number[], signed: boolean): bigint {
  const v = BigInt(words[0] ?? 0) * TWO32 + BigInt(words[1] ?? 0);
  return signed && v >= TWO64 / 2n ? v - TWO64 : v;
}

export function bigIntToWords(v: bigint): [number, number] {
  const u = v < 0n ? v + TWO64 : v;
  return [Number(u / TWO32), Number(u % TWO32)];
}

function badWrite(what: string, dataType: DataType, value: TwinValue): EdgeTwinError {
  return new EdgeTwinError(
    'ET_BAD_VALUE',
    `${JSON.stringify(value)} cannot be written to a ${dataTypeName(dataType)} node: ${what}`,
    {
      details: { dataType: dataTypeName(dataType), got: value },
    },
  );
}

/** Builds the Variant for writing `value` to a node whose DataType is `dataType`. */
export function toVariant(dataType: DataType, value: TwinValue): Variant {
  const range = INT_RANGES[dataType];
  if (range) {
    let n: bigint;
    if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
    else if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) n = BigInt(value.trim());
    else if (typeof value === 'boolean') n = value ? 1n : 0n;
    else throw badWrite('not a whole number', dataType, value);
    if (n < range[0] || n > range[1]) throw badWrite(`outside ${range[0]}..${range[1]}`, dataType, value);
    const v = dataType === DataType.Int64 || dataType === DataType.UInt64 ? bigIntToWords(n) : Number(n);
    return new Variant({ dataType, arrayType: VariantArrayType.Scalar, value: v });
  }
  switch (dataType) {
    case DataType.Boolean:
      if (typeof value === 'boolean') return new Variant({ dataType, value });
      if (value === 0 || value === 1) return new Variant({ dataType, value: value === 1 });
      if (value === 'true' || value === 'false') return new Variant({ dataType, value: value === 'true' });
      throw badWrite('not a boolean', dataType, value);
    case DataType.Float:
    case DataType.Double: {
      const n = typeof value === 'string' ? Number(value) : typeof value === 'boolean' ? Number(value) : value;
      if (!Number.isFinite(n)) throw badWrite('not a number', dataType, value);
      return new Variant({ dataType, value: n });
    }
    case DataType.String:
      return new Variant({ dataType, value: String(value) });
    case DataType.ByteString:
      if (typeof value !== 'string') throw badWrite('BYTES travel as base64 strings', dataType, value);
      return new Variant({ dataType, value: Buffer.from(value, 'base64') });
    case DataType.DateTime: {
      const d = new Date(typeof value === 'boolean' ? NaN : value);
      if (Number.isNaN(d.getTime())) throw badWrite('not a date (ISO string or ms since epoch)', dataType, value);
      return new Variant({ dataType, value: d });
    }
    default:
      throw badWrite(
        'the mapper writes only scalar Boolean, integer, Float, Double, String, DateTime and ByteString nodes',
        dataType,
        value,
      );
  }
}

/**
 * The value a node of `dataType` holds after `value` is written: a Float node keeps the nearest
 * float32 (21.3 -> 21.299999237060547); every other type holds what the Variant carries.
 */
export function heldValue(dataType: DataType, value: TwinValue): TwinValue {
  if (dataType !== DataType.Float) return value;
  const n = typeof value === 'string' ? Number(value) : typeof value === 'boolean' ? Number(value) : value;
  return Number.isFinite(n) ? Math.fround(n) : value;
}

/** A scalar from a Variant as a plain JS value (64-bit integers become bigint). */
function plain(variant: Variant): unknown {
  const v: unknown = variant.value;
  if (variant.dataType === DataType.Int64 || variant.dataType === DataType.UInt64) {
    return Array.isArray(v) ? wordsToBigInt(v as number[], variant.dataType === DataType.Int64) : v;
  }
  return v;
}

function badRead(type: PropertyType, variant: Variant): EdgeTwinError {
  return new EdgeTwinError(
    'ET_BAD_VALUE',
    `the node holds a ${dataTypeName(variant.dataType)} that does not fit the property type ${type}; fix the type in the DeviceModel or the nodeID`,
    { details: { dataType: dataTypeName(variant.dataType), expected: type } },
  );
}

/** Converts a read Variant into the property's model type. Throws ET_BAD_VALUE. */
export function fromVariant(type: PropertyType, variant: Variant): TwinValue {
  const v = plain(variant);
  switch (type) {
    case 'INT':
      if (typeof v === 'bigint') {
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw badRead(type, variant);
        return Number(v);
      }
      if (typeof v === 'number' && Number.isFinite(v)) return Math.round(v);
      if (typeof v === 'boolean') return v ? 1 : 0;
      throw badRead(type, variant);
    case 'FLOAT':
    case 'DOUBLE':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'boolean') return v ? 1 : 0;
      throw badRead(type, variant);
    case 'BOOLEAN':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'number' || typeof v === 'bigint') return v !== 0 && v !== 0n;
      throw badRead(type, variant);
    case 'STRING':
    case 'STREAM':
      if (typeof v === 'string') return v;
      if (v instanceof Date) return v.toISOString();
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
      if (Buffer.isBuffer(v)) return v.toString('base64');
      if (v === null || v === undefined) return '';
      throw badRead(type, variant);
    case 'BYTES':
      if (Buffer.isBuffer(v)) return v.toString('base64');
      if (typeof v === 'string') return Buffer.from(v, 'utf8').toString('base64');
      throw badRead(type, variant);
  }
}

/**
 * A DataValue as a Reading: value in the model type, SourceTimestamp as `sourceTime`, the
 * StatusCode name as `quality` unless Good. A status that is not Good and carries no value is an
 * ET_PROTOCOL error with the status in `details`.
 */
export function toReading(type: PropertyType, dv: DataValue, nodeId: string): Reading | EdgeTwinError {
  const status = dv.statusCode;
  const hasValue = dv.value.dataType !== DataType.Null && dv.value.value !== null && dv.value.value !== undefined;
  if (!status.isGood() && !hasValue) {
    return new EdgeTwinError('ET_PROTOCOL', `reading ${nodeId} failed with ${status.name}: ${status.description}`, {
      details: { status: status.name, statusCode: status.value, nodeId },
    });
  }
  let value: TwinValue;
  try {
    value = fromVariant(type, dv.value);
  } catch (err) {
    if (err instanceof EdgeTwinError) {
      return new EdgeTwinError(err.code, `${nodeId}: ${err.message}`, {
        cause: err,
        details: { ...err.details, nodeId },
      });
    }
    throw err;
  }
  const reading: Reading = { value };
  const source = dv.sourceTimestamp ?? dv.serverTimestamp;
  if (source) reading.sourceTime = source.getTime();
  if (!status.isGood()) reading.quality = status.name;
  return reading;
}

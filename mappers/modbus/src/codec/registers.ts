/**
 * Registers <-> typed values. A `ValueSpec` is everything needed to find and decode one property:
 * table, address, register count, data type, byte and word order, scale and offset, bit.
 */
import { EdgeTwinError, type PropertyType, type TwinValue } from '@edgetwin/sdk';
import {
  isBitTable,
  normalizeDataType,
  type DataType,
  type ModbusVisitorConfig,
  type RegisterTable,
} from '../config.js';

export interface ValueSpec {
  table: RegisterTable;
  address: number;
  /** Registers (or bits for coil/discrete tables) this value occupies. */
  count: number;
  dataType: DataType;
  scale: number;
  valueOffset: number;
  isSwap: boolean;
  isRegisterSwap: boolean;
  bit?: number;
  /** The DeviceModel type the value is converted to. */
  modelType: PropertyType;
}

const WIDTH: Record<Exclude<DataType, 'string' | 'boolean'>, number> = {
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  int64: 4,
  uint64: 4,
  float64: 4,
};

export function valueSpec(v: ModbusVisitorConfig, modelType: PropertyType): ValueSpec {
  const dataType = normalizeDataType(v, modelType);
  let count: number;
  if (isBitTable(v.register) || dataType === 'boolean') count = 1;
  else if (dataType === 'string') count = v.limit ?? 1;
  else count = WIDTH[dataType];
  const spec: ValueSpec = {
    table: v.register,
    address: v.offset,
    count,
    dataType,
    scale: v.scale,
    valueOffset: v.valueOffset,
    isSwap: v.isSwap,
    isRegisterSwap: v.isRegisterSwap,
    modelType,
  };
  if (v.bit !== undefined) spec.bit = v.bit;
  return spec;
}

/** Reused for numbers (at most 8 bytes) so a read cycle allocates nothing per value. */
const scratch = Buffer.alloc(8);

/** Registers in wire order -> big-endian bytes of the value, undoing word and byte swaps. */
function toBytes(regs: readonly number[], spec: ValueSpec): Buffer {
  const n = regs.length;
  const buf = n <= 4 ? scratch.subarray(0, n * 2) : Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const w = (regs[spec.isRegisterSwap ? n - 1 - i : i] ?? 0) & 0xffff;
    buf[i * 2] = spec.isSwap ? w & 0xff : w >> 8;
    buf[i * 2 + 1] = spec.isSwap ? w >> 8 : w & 0xff;
  }
  return buf;
}

/** Big-endian bytes of the value -> registers in wire order. */
function fromBytes(buf: Buffer, spec: ValueSpec): number[] {
  const b = Buffer.from(buf);
  if (spec.isSwap) b.swap16();
  const words: number[] = [];
  for (let i = 0; i < b.length; i += 2) words.push(b.readUInt16BE(i));
  return spec.isRegisterSwap ? words.reverse() : words;
}

/** The shortest decimal that is the same float32: 230.1, not 230.10000610351562. */
function shortestFloat32(x: number): number {
  if (!Number.isFinite(x)) return x;
  // Number() drops trailing zeros, so starting at 6 digits still yields the shortest form.
  for (let p = 6; p < 9; p++) {
    const candidate = Number(x.toPrecision(p));
    if (Math.fround(candidate) === x) return candidate;
  }
  return x;
}

function rawNumber(buf: Buffer, type: DataType): number {
  switch (type) {
    case 'int16':
      return buf.readInt16BE(0);
    case 'uint16':
      return buf.readUInt16BE(0);
    case 'int32':
      return buf.readInt32BE(0);
    case 'uint32':
      return buf.readUInt32BE(0);
    case 'float32':
      return shortestFloat32(buf.readFloatBE(0));
    case 'int64':
      return Number(buf.readBigInt64BE(0));
    case 'uint64':
      return Number(buf.readBigUInt64BE(0));
    case 'float64':
      return buf.readDoubleBE(0);
    default:
      throw new Error(`not a numeric data type: ${type}`);
  }
}

/** Converts a decoded value to the model's type: INT is rounded, BOOLEAN is "not zero". */
function toModel(value: number | boolean | string, modelType: PropertyType): TwinValue {
  switch (modelType) {
    case 'INT':
      return typeof value === 'number' ? Math.round(value) : typeof value === 'boolean' ? Number(value) : value;
    case 'FLOAT':
    case 'DOUBLE':
      return typeof value === 'boolean' ? Number(value) : value;
    case 'BOOLEAN':
      return typeof value === 'number' ? value !== 0 : value;
    case 'STRING':
    case 'STREAM':
      return String(value);
    case 'BYTES':
      return typeof value === 'string' ? Buffer.from(value, 'latin1').toString('base64') : String(value);
  }
}

/** Decodes a value from its registers (wire order) or, for bit tables, its bit. */
export function decodeRegisters(regs: readonly number[], spec: ValueSpec): TwinValue {
  if (spec.bit !== undefined) return toModel((((regs[0] ?? 0) >> spec.bit) & 1) === 1, spec.modelType);
  if (spec.dataType === 'boolean') return toModel((regs[0] ?? 0) !== 0, spec.modelType);
  const buf = toBytes(regs, spec);
  if (spec.dataType === 'string') {
    const text = buf.toString(spec.modelType === 'BYTES' ? 'latin1' : 'utf8').replace(/\0+$/, '');
    return toModel(text, spec.modelType);
  }
  const raw = rawNumber(buf, spec.dataType);
  const value = raw * spec.scale + spec.valueOffset;
  return toModel(spec.scale === 1 && spec.valueOffset === 0 ? raw : Number(value.toPrecision(15)), spec.modelType);
}

export function decodeBits(bits: readonly boolean[], spec: ValueSpec): TwinValue {
  return toModel(bits[0] === true, spec.modelType);
}

function badValue(spec: ValueSpec, value: TwinValue, why: string): EdgeTwinError {
  return new EdgeTwinError(
    'ET_BAD_VALUE',
    `${JSON.stringify(value)} cannot be written as ${spec.dataType} to ${spec.table} ${spec.address}: ${why}`,
    { details: { table: spec.table, address: spec.address, dataType: spec.dataType, got: value } },
  );
}

const INT_RANGE: Partial<Record<DataType, [bigint, bigint]>> = {
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-2147483648n, 2147483647n],
  uint32: [0n, 4294967295n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** Truthiness of a value meant for a bit: booleans, 0/1 and "true"/"false". */
export function toBit(value: TwinValue, spec: ValueSpec): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (value === 'true' || value === 'false') return value === 'true';
  throw badValue(spec, value, 'expected a boolean');
}

/** Encodes a value into registers (wire order); the inverse of `decodeRegisters`. */
export function encodeRegisters(value: TwinValue, spec: ValueSpec): number[] {
  if (spec.dataType === 'boolean') return [toBit(value, spec) ? 1 : 0];
  if (spec.dataType === 'string') {
    if (typeof value !== 'string') throw badValue(spec, value, 'expected a string');
    const bytes = spec.modelType === 'BYTES' ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8');
    if (bytes.length > spec.count * 2) throw badValue(spec, value, `longer than ${spec.count * 2} bytes (limit)`);
    const buf = Buffer.alloc(spec.count * 2);
    bytes.copy(buf);
    return fromBytes(buf, spec);
  }
  const n = typeof value === 'boolean' ? Number(value) : typeof value === 'string' ? Number(value) : value;
  if (!Number.isFinite(n)) throw badValue(spec, value, 'expected a number');
  const raw = (n - spec.valueOffset) / spec.scale;
  const buf = Buffer.alloc(WIDTH[spec.dataType] * 2);
  if (spec.dataType === 'float32') buf.writeFloatBE(raw, 0);
  else if (spec.dataType === 'float64') buf.writeDoubleBE(raw, 0);
  else {
    const range = INT_RANGE[spec.dataType];
    const int = BigInt(Math.round(raw));
    if (!range || int < range[0] || int > range[1]) {
      throw badValue(spec, value, `raw value ${Math.round(raw)} is outside ${range?.[0]}..${range?.[1]}`);
    }
    const wide = Buffer.alloc(8);
    wide.writeBigUInt64BE(BigInt.asUintN(buf.length * 8, int), 0);
    wide.copy(buf, 0, 8 - buf.length);
  }
  return fromBytes(buf, spec);
}

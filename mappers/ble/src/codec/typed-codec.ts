/**
 * The typed codec integrators should prefer: a fixed-width number (or text, or raw bytes) at a
 * byte offset, with byte order, then `value = raw * scale + offset`. Encoding is the reverse.
 */
import { EdgeTwinError } from '@edgetwin/sdk';
import type { CodecFormat, TypedCodec } from '../config.js';

type NumericFormat = Exclude<CodecFormat, 'utf8' | 'raw'>;

const WIDTH: Record<NumericFormat, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8,
};

const RANGE: Partial<Record<NumericFormat, [number, number]>> = {
  uint8: [0, 0xff],
  int8: [-0x80, 0x7f],
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};

export function isNumericFormat(format: CodecFormat): format is NumericFormat {
  return format !== 'utf8' && format !== 'raw';
}

export type Decoded =
  { kind: 'number'; value: number } | { kind: 'text'; value: string } | { kind: 'bytes'; value: Buffer };

function readRaw(format: NumericFormat, data: Buffer, at: number, little: boolean): number {
  switch (format) {
    case 'uint8':
      return data.readUInt8(at);
    case 'int8':
      return data.readInt8(at);
    case 'uint16':
      return little ? data.readUInt16LE(at) : data.readUInt16BE(at);
    case 'int16':
      return little ? data.readInt16LE(at) : data.readInt16BE(at);
    case 'uint32':
      return little ? data.readUInt32LE(at) : data.readUInt32BE(at);
    case 'int32':
      return little ? data.readInt32LE(at) : data.readInt32BE(at);
    case 'float32':
      // A float32 has ~7 significant digits; show 21.3, not 21.299999237060547.
      return Number((little ? data.readFloatLE(at) : data.readFloatBE(at)).toPrecision(7));
    case 'float64':
      return little ? data.readDoubleLE(at) : data.readDoubleBE(at);
  }
}

function writeRaw(format: NumericFormat, buf: Buffer, at: number, raw: number, little: boolean): void {
  switch (format) {
    case 'uint8':
      buf.writeUInt8(raw, at);
      return;
    case 'int8':
      buf.writeInt8(raw, at);
      return;
    case 'uint16':
      if (little) buf.writeUInt16LE(raw, at);
      else buf.writeUInt16BE(raw, at);
      return;
    case 'int16':
      if (little) buf.writeInt16LE(raw, at);
      else buf.writeInt16BE(raw, at);
      return;
    case 'uint32':
      if (little) buf.writeUInt32LE(raw, at);
      else buf.writeUInt32BE(raw, at);
      return;
    case 'int32':
      if (little) buf.writeInt32LE(raw, at);
      else buf.writeInt32BE(raw, at);
      return;
    case 'float32':
      if (little) buf.writeFloatLE(raw, at);
      else buf.writeFloatBE(raw, at);
      return;
    case 'float64':
      if (little) buf.writeDoubleLE(raw, at);
      else buf.writeDoubleBE(raw, at);
      return;
  }
}

export function decodeTyped(codec: TypedCodec, data: Buffer): Decoded {
  const { format, byteOffset } = codec;
  if (!isNumericFormat(format)) {
    if (byteOffset > data.length) throw pastEnd(codec, data, 0);
    const rest = data.subarray(byteOffset);
    return format === 'utf8' ? { kind: 'text', value: rest.toString('utf8') } : { kind: 'bytes', value: rest };
  }
  const width = WIDTH[format];
  if (byteOffset + width > data.length) throw pastEnd(codec, data, width);
  const raw = readRaw(format, data, byteOffset, codec.endianness === 'little');
  const value = codec.scale === 1 && codec.offset === 0 ? raw : raw * codec.scale + codec.offset;
  return { kind: 'number', value: format === 'float32' ? value : roundNoise(value) };
}

/** 2215 * 0.01 is 22.150000000000002 in binary floating point; report 22.15. */
function roundNoise(n: number): number {
  return Number.isInteger(n) ? n : Number(n.toPrecision(12));
}

function pastEnd(codec: TypedCodec, data: Buffer, width: number): EdgeTwinError {
  return new EdgeTwinError(
    'ET_PROTOCOL',
    `codec reads ${codec.format}${width ? ` (${width} byte${width > 1 ? 's' : ''})` : ''} at byte ${codec.byteOffset} but the characteristic sent ${data.length} byte(s) (${data.toString('hex') || 'empty'}); fix codec.byteOffset or codec.format`,
    { details: { bytes: data.toString('hex'), byteOffset: codec.byteOffset, format: codec.format } },
  );
}

/** Encodes a value for writing; numbers are placed at `byteOffset` in a zero-filled buffer. */
export function encodeTyped(codec: TypedCodec, value: number | string | Buffer): Buffer {
  const { format, byteOffset } = codec;
  if (!isNumericFormat(format)) {
    const body = typeof value === 'number' ? Buffer.from(String(value), 'utf8') : Buffer.from(value);
    return Buffer.concat([Buffer.alloc(byteOffset), body]);
  }
  if (typeof value !== 'number') {
    throw new EdgeTwinError(
      'ET_BAD_VALUE',
      `codec format ${format} needs a number, got ${JSON.stringify(String(value))}`,
      {
        details: { format },
      },
    );
  }
  let raw = (value - codec.offset) / codec.scale;
  const range = RANGE[format];
  if (range) {
    raw = Math.round(raw);
    if (raw < range[0] || raw > range[1]) {
      throw new EdgeTwinError(
        'ET_BAD_VALUE',
        `${value} encodes to ${raw}, which does not fit ${format} (${range[0]}..${range[1]}); check the property's minimum/maximum or the codec's scale and offset`,
        { details: { format, got: value, raw } },
      );
    }
  }
  const buf = Buffer.alloc(byteOffset + WIDTH[format]);
  writeRaw(format, buf, byteOffset, raw, codec.endianness === 'little');
  return buf;
}

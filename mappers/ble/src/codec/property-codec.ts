/**
 * Bytes <-> typed twin values for one property. Reading: `codec` wins, then `dataConverter`, then a
 * reverse `dataWrite` lookup, then a default by the property's type (STRING as UTF-8, BYTES as
 * base64, BOOLEAN and numbers from the first byte, like KubeEdge's zero dataConverter). Writing:
 * `dataWrite` when it has the value, then `codec`, then the same defaults.
 */
import { EdgeTwinError, coerceValue, type ModelProperty, type TwinValue } from '@edgetwin/sdk';
import type { BleVisitorConfig } from '../config.js';
import { convertKubeEdge } from './data-converter.js';
import { lookupDataWrite, noDataWriteKey, reverseDataWrite } from './data-write.js';
import { decodeTyped, encodeTyped, type Decoded } from './typed-codec.js';

export interface PropertyCodec {
  decode(data: Buffer): TwinValue;
  encode(value: TwinValue): Buffer;
}

export interface CodecProperty {
  name: string;
  model: Pick<ModelProperty, 'type'>;
  visitor: Pick<BleVisitorConfig, 'codec' | 'dataConverter' | 'dataWrite'>;
}

function fromDecoded(p: CodecProperty, d: Decoded): TwinValue {
  const type = p.model.type;
  if (d.kind === 'number') {
    switch (type) {
      case 'INT':
        return Math.round(d.value);
      case 'FLOAT':
      case 'DOUBLE':
        return d.value;
      case 'BOOLEAN':
        return d.value !== 0;
      case 'STRING':
      case 'STREAM':
        return String(d.value);
      case 'BYTES':
        throw configMismatch(p, 'a number codec', 'BYTES');
    }
  }
  const text = d.kind === 'text' ? d.value : undefined;
  switch (type) {
    case 'STRING':
    case 'STREAM':
      return text ?? (d.value as Buffer).toString('hex');
    case 'BYTES':
      return Buffer.from(d.kind === 'bytes' ? d.value : Buffer.from(d.value, 'utf8')).toString('base64');
    default:
      if (text !== undefined) return coerceValue(type, text.trim());
      throw configMismatch(p, 'codec format "raw"', type);
  }
}

function configMismatch(p: CodecProperty, what: string, type: string): EdgeTwinError {
  return new EdgeTwinError(
    'ET_CONFIG_INVALID',
    `property ${p.name}: ${what} cannot give a ${type} value; choose a codec format that matches the property type`,
    { details: { property: p.name } },
  );
}

function decode(p: CodecProperty, data: Buffer): TwinValue {
  const { codec, dataConverter, dataWrite } = p.visitor;
  if (codec) return fromDecoded(p, decodeTyped(codec, data));
  if (dataConverter) return fromDecoded(p, { kind: 'number', value: convertKubeEdge(dataConverter, data) });
  if (dataWrite) {
    const key = reverseDataWrite(dataWrite, data);
    if (key !== undefined) return coerceValue(p.model.type, key);
  }
  switch (p.model.type) {
    case 'STRING':
    case 'STREAM':
      return fromDecoded(p, { kind: 'text', value: data.toString('utf8') });
    case 'BYTES':
      return fromDecoded(p, { kind: 'bytes', value: data });
    default:
      return fromDecoded(
        p,
        decodeTyped({ format: 'uint8', byteOffset: 0, endianness: 'little', scale: 1, offset: 0 }, data),
      );
  }
}

function encode(p: CodecProperty, value: TwinValue): Buffer {
  const { codec, dataWrite } = p.visitor;
  if (dataWrite) {
    const bytes = lookupDataWrite(dataWrite, p.model.type, value);
    if (bytes) return bytes;
    if (!codec) throw noDataWriteKey(p.name, dataWrite, value);
  }
  if (codec) {
    if (typeof value === 'boolean') return encodeTyped(codec, value ? 1 : 0);
    if (p.model.type === 'BYTES' && typeof value === 'string') return encodeTyped(codec, Buffer.from(value, 'base64'));
    return encodeTyped(codec, value);
  }
  switch (p.model.type) {
    case 'STRING':
    case 'STREAM':
      return Buffer.from(String(value), 'utf8');
    case 'BYTES':
      return Buffer.from(String(value), 'base64');
    case 'BOOLEAN':
      return Buffer.from([value === true ? 1 : 0]);
    default:
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255)
        return Buffer.from([value]);
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `property ${p.name}: without a codec or dataWrite only whole numbers 0..255 can be written (one byte), got ${String(value)}; add a codec (e.g. {format: int16}) to the visitor configData`,
        { details: { property: p.name, got: value } },
      );
  }
}

export function propertyCodec(p: CodecProperty): PropertyCodec {
  return { decode: (data) => decode(p, data), encode: (value) => encode(p, value) };
}

/**
 * configData values as DMI carries them: each value a google.protobuf wrapper message packed in
 * an Any, the way KubeEdge's edgecore packs them (strings in StringValue, whole numbers in
 * Int64Value, other numbers in FloatValue, booleans in BoolValue) and mapper-framework unpacks
 * them. Objects and arrays, which KubeEdge cannot pack, travel as StringValue holding their JSON
 * (`fromAny` gives them back as objects). The wrappers are one field each, so they are encoded and
 * decoded here (the DMI tests check both against protobufjs, an independent implementation).
 */
import type { AnyMessage } from './messages.js';

export type { AnyMessage };

const PREFIX = 'type.googleapis.com/google.protobuf.';

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** One configData value as KubeEdge packs it. */
export function toAny(value: unknown): AnyMessage {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    const body =
      value === '' ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, ...varint(BigInt(bytes.length))]), bytes]);
    return { type_url: `${PREFIX}StringValue`, value: body };
  }
  if (typeof value === 'boolean') {
    return { type_url: `${PREFIX}BoolValue`, value: Buffer.from(value ? [0x08, 1] : []) };
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    return { type_url: `${PREFIX}Int64Value`, value: Buffer.from(value === 0 ? [] : [0x08, ...varint(BigInt(value))]) };
  }
  if (typeof value === 'number') {
    const b = Buffer.alloc(5);
    b[0] = 0x0d;
    b.writeFloatLE(value, 1);
    return { type_url: `${PREFIX}FloatValue`, value: b };
  }
  return toAny(JSON.stringify(value ?? null));
}

export function toAnyMap(data: Record<string, unknown> | undefined): Record<string, AnyMessage> {
  const out: Record<string, AnyMessage> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = toAny(v);
  return out;
}

/** Reads the varint at `pos`: [value, next position]. */
function readVarint(b: Uint8Array, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (let i = pos; i < b.length && i < pos + 10; i++) {
    const byte = b[i]!;
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, i + 1];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

/**
 * A float32 as the shortest decimal that reads back as the same float32 (what Go's
 * `strconv.FormatFloat(f, 'g', -1, 32)` prints): KubeEdge packs numbers like `scale: 0.1` in a
 * FloatValue, and 0.1 must come back as 0.1, not 0.10000000149011612.
 */
export function shortestFloat32(f: number): number {
  if (!Number.isFinite(f)) return f;
  for (let p = 1; p <= 9; p++) {
    const n = Number(f.toPrecision(p));
    if (Math.fround(n) === f) return n;
  }
  return f;
}

/** A StringValue holding a JSON object or array (how objects travel) is given back parsed. */
function unpackString(text: string): unknown {
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** One configData value packed in Any (a google.protobuf wrapper), as a JSON value. */
export function fromAny(any: AnyMessage): unknown {
  const type = any.type_url.slice(any.type_url.lastIndexOf('.') + 1);
  const b = any.value instanceof Uint8Array ? any.value : new Uint8Array(0);
  let raw: bigint | number | Uint8Array | undefined;
  for (let pos = 0; pos < b.length;) {
    const [tag, next] = readVarint(b, pos);
    pos = next;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) [raw, pos] = readVarint(b, pos);
    else if (wire === 1) {
      raw = Buffer.from(b.buffer, b.byteOffset + pos, 8).readDoubleLE(0);
      pos += 8;
    } else if (wire === 5) {
      raw = Buffer.from(b.buffer, b.byteOffset + pos, 4).readFloatLE(0);
      pos += 4;
    } else if (wire === 2) {
      const [len, start] = readVarint(b, pos);
      raw = b.subarray(start, start + Number(len));
      pos = start + Number(len);
    } else throw new Error(`${any.type_url}: unexpected wire type ${wire}`);
    if (field !== 1) raw = undefined;
  }
  switch (type) {
    case 'StringValue':
      return unpackString(raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : '');
    case 'BytesValue':
      return raw instanceof Uint8Array ? Buffer.from(raw).toString('base64') : '';
    case 'BoolValue':
      return raw === 1n;
    case 'Int64Value':
    case 'Int32Value':
      return Number(BigInt.asIntN(type === 'Int32Value' ? 32 : 64, typeof raw === 'bigint' ? raw : 0n));
    case 'UInt64Value':
    case 'UInt32Value':
      return Number(typeof raw === 'bigint' ? raw : 0n);
    case 'FloatValue':
      return shortestFloat32(typeof raw === 'number' ? raw : 0);
    case 'DoubleValue':
      return typeof raw === 'number' ? raw : 0;
    default:
      throw new Error(`configData value of type ${any.type_url} is not a google.protobuf wrapper`);
  }
}

export function fromAnyMap(data: Record<string, AnyMessage> | undefined | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = fromAny(v);
  return out;
}

/**
 * A table-driven proto3 codec: one generic encoder and decoder, driven by field tables written by
 * hand from the .proto (`schema.ts` for DMI). Decoded messages have the shape @grpc/proto-loader
 * gives with `{ keepCase: true, longs: Number, defaults: true }`: every scalar present (unset: its
 * default), repeated fields `[]`, maps `{}`, unset messages `null`, bytes as Buffer, 64-bit
 * integers as Numbers. Unknown fields are skipped. Encoding follows proto3's implicit presence:
 * scalars equal to their default are not written; a message given (even `{}`) is.
 *
 * Encoding is two passes over the object: the first sums sizes and records, in visiting order,
 * each nested message's and string's byte length; the second writes into one buffer of that size.
 */
import { Reader, WIRE, WireError, Writer, sizeInt64, sizeUint32, splitInt64 } from './wire.js';

export type ScalarType = 'string' | 'bytes' | 'bool' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'float' | 'double';

/** One field of a message, as the .proto declares it. */
export interface FieldSpec {
  name: string;
  no: number;
  /** A scalar, or 'message' with `message` naming the type (a key of the schema). */
  type: ScalarType | 'message';
  message?: string;
  repeated?: boolean;
  /** `map<key, value>`: `type` is then the value's type. */
  mapKey?: ScalarType;
}

/** Message name -> its fields. */
export type Schema = Readonly<Record<string, readonly FieldSpec[]>>;

export type Message = Record<string, unknown>;

interface Compiled {
  name: string;
  fields: CompiledField[];
  byNo: (CompiledField | undefined)[];
}

interface CompiledField extends FieldSpec {
  path: string;
  wire: number;
  tag: number;
  sub?: Compiled;
  /** A map entry, as a message of key (1) and value (2). */
  entry?: Compiled;
}

const WIRE_OF: Record<ScalarType | 'message', number> = {
  string: WIRE.LEN,
  bytes: WIRE.LEN,
  message: WIRE.LEN,
  bool: WIRE.VARINT,
  int32: WIRE.VARINT,
  int64: WIRE.VARINT,
  uint32: WIRE.VARINT,
  uint64: WIRE.VARINT,
  float: WIRE.I32,
  double: WIRE.I64,
};

/** Encoder and decoder for the messages of one schema. */
export class Codec {
  private readonly compiled = new Map<string, Compiled>();

  constructor(private readonly schema: Schema) {}

  /** The message's bytes (proto3 wire format). Throws naming the field when a value has the wrong type. */
  encode(type: string, msg: object): Buffer {
    const t = this.type(type);
    const sizes: number[] = [];
    const size = sizeOf(t, msg as Message, sizes);
    const w = new Writer(size);
    writeBody(t, msg as Message, w, sizes, { i: 0 });
    return w.buf;
  }

  /** The message in proto-loader's shape. Throws a WireError on malformed bytes. */
  decode(type: string, bytes: Buffer): Message {
    const r = new Reader(bytes);
    return readBody(this.type(type), r, bytes.length);
  }

  /** The compiled table of a message (its fields by number), compiled on first use. */
  type(name: string): Compiled {
    const done = this.compiled.get(name);
    if (done) return done;
    const specs = this.schema[name];
    if (!specs) throw new Error(`protobuf schema: no message ${name}`);
    const t: Compiled = { name, fields: [], byNo: [] };
    this.compiled.set(name, t); // before the fields: messages may refer to themselves
    for (const f of [...specs].sort((a, b) => a.no - b.no)) {
      const c: CompiledField = { ...f, path: `${name}.${f.name}`, wire: WIRE_OF[f.type], tag: 0 };
      if (f.type === 'message') c.sub = this.type(f.message ?? '');
      if (f.mapKey) {
        c.entry = {
          name: `${name}.${f.name}Entry`,
          fields: [],
          byNo: [],
        };
        const key: CompiledField = {
          name: 'key',
          no: 1,
          type: f.mapKey,
          path: `${c.path}.key`,
          wire: WIRE_OF[f.mapKey],
          tag: 0,
        };
        const value: CompiledField = {
          name: 'value',
          no: 2,
          type: f.type,
          path: `${c.path}.value`,
          wire: WIRE_OF[f.type],
          tag: 0,
        };
        if (c.sub) value.sub = c.sub;
        for (const e of [key, value]) {
          e.tag = (e.no << 3) | e.wire;
          c.entry.fields.push(e);
          c.entry.byNo[e.no] = e;
        }
        c.wire = WIRE.LEN;
      }
      // Packed repeated scalars (proto3's default for numeric types) travel length-delimited.
      if (f.repeated && !f.mapKey && c.wire !== WIRE.LEN) c.wire = WIRE.LEN;
      c.tag = (f.no << 3) | c.wire;
      t.fields.push(c);
      t.byNo[f.no] = c;
    }
    return t;
  }
}

// ---- decoding ----

function defaultOf(f: CompiledField): unknown {
  if (f.mapKey) return {};
  if (f.repeated) return [];
  switch (f.type) {
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'bool':
      return false;
    case 'message':
      return null;
    default:
      return 0;
  }
}

function readBody(t: Compiled, r: Reader, end: number): Message {
  const obj: Message = {};
  for (const f of t.fields) obj[f.name] = defaultOf(f);
  while (r.pos < end) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    const f = t.byNo[no];
    if (!f) {
      r.skip(wire, no); // unknown field: a newer peer's addition
      continue;
    }
    if (f.mapKey) {
      expectWire(f, wire, WIRE.LEN);
      const [key, value] = readEntry(f.entry!, r);
      (obj[f.name] as Record<string, unknown>)[String(key)] = value;
    } else if (f.repeated) {
      const list = obj[f.name] as unknown[];
      if (wire === WIRE.LEN && WIRE_OF[f.type] !== WIRE.LEN) {
        const stop = nestedEnd(r, f.path);
        while (r.pos < stop) list.push(readScalar(f, r));
        if (r.pos !== stop) throw new WireError(`${f.path}: packed values overrun their length`);
      } else {
        expectWire(f, wire, WIRE_OF[f.type]);
        list.push(readValue(f, r));
      }
    } else {
      expectWire(f, wire, f.wire);
      obj[f.name] = readValue(f, r);
    }
  }
  if (r.pos !== end) throw new WireError(`${t.name}: a field overruns the message's length`);
  return obj;
}

function readEntry(entry: Compiled, r: Reader): [unknown, unknown] {
  const stop = nestedEnd(r, entry.name);
  const [keyField, valueField] = entry.fields as [CompiledField, CompiledField];
  let key = defaultOf(keyField);
  let value: unknown;
  while (r.pos < stop) {
    const tag = r.uint32();
    const f = entry.byNo[tag >>> 3];
    if (!f) {
      r.skip(tag & 7, tag >>> 3);
      continue;
    }
    expectWire(f, tag & 7, f.wire);
    if (f === keyField) key = readValue(f, r);
    else value = readValue(f, r);
  }
  if (r.pos !== stop) throw new WireError(`${entry.name}: a field overruns the entry's length`);
  if (value === undefined) value = valueField.sub ? readBody(valueField.sub, r, r.pos) : defaultOf(valueField);
  return [key, value];
}

function readValue(f: CompiledField, r: Reader): unknown {
  if (f.sub) return readBody(f.sub, r, nestedEnd(r, f.path));
  return readScalar(f, r);
}

function readScalar(f: CompiledField, r: Reader): unknown {
  switch (f.type) {
    case 'string':
      return r.string();
    case 'bytes':
      return r.bytes();
    case 'bool':
      return r.bool();
    case 'int32':
      return r.int32();
    case 'uint32':
      return r.uint32();
    case 'int64':
      return r.int64();
    case 'uint64':
      return r.uint64();
    case 'float':
      return r.float();
    case 'double':
      return r.double();
    default:
      throw new WireError(`${f.path}: not a scalar`);
  }
}

/** Reads a length prefix; the end of the nested value it announces. */
function nestedEnd(r: Reader, path: string): number {
  const len = r.uint32();
  const stop = r.pos + len;
  if (stop > r.end) throw new WireError(`${path}: length ${len} runs past the end of the data`);
  return stop;
}

function expectWire(f: CompiledField, got: number, want: number): void {
  if (got !== want) throw new WireError(`${f.path} (field ${f.no}): wire type ${got}, expected ${want}`);
}

// ---- encoding ----

function isDefault(f: CompiledField, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (f.type === 'message') return false;
  if (f.type === 'bytes') return (v as Uint8Array).length === 0;
  if (f.type === 'string') return v === '';
  if (f.type === 'bool') return v === false;
  return Number(v) === 0;
}

/** Bytes of a message's body; pushes nested message and string byte lengths onto `sizes`, in writing order. */
function sizeOf(t: Compiled, msg: Message, sizes: number[]): number {
  let total = 0;
  for (const f of t.fields) {
    const v = msg[f.name];
    if (v === undefined || v === null) continue;
    if (f.mapKey) {
      if (typeof v !== 'object') throw typeError(f, 'an object (a map)', v);
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        const at = sizes.push(0) - 1;
        const [keyField, valueField] = f.entry!.fields as [CompiledField, CompiledField];
        const n = sizeField(keyField, k, sizes) + sizeField(valueField, val ?? {}, sizes);
        sizes[at] = n;
        total += sizeUint32(f.tag) + sizeUint32(n) + n;
      }
    } else if (f.repeated) {
      if (!Array.isArray(v)) throw typeError(f, 'an array', v);
      if (f.wire === WIRE.LEN && WIRE_OF[f.type] !== WIRE.LEN) {
        if (v.length === 0) continue;
        let n = 0;
        for (const x of v) n += sizeScalar(f, x);
        sizes.push(n);
        total += sizeUint32(f.tag) + sizeUint32(n) + n;
      } else for (const x of v) total += sizeField(f, x, sizes);
    } else if (!isDefault(f, v)) total += sizeField(f, v, sizes);
  }
  return total;
}

/** Tag and value of one field occurrence. */
function sizeField(f: CompiledField, v: unknown, sizes: number[]): number {
  const tag = sizeUint32((f.no << 3) | WIRE_OF[f.type]);
  if (f.sub) {
    if (typeof v !== 'object' || v === null) throw typeError(f, `a ${f.sub.name} object`, v);
    const at = sizes.push(0) - 1;
    const n = sizeOf(f.sub, v as Message, sizes);
    sizes[at] = n;
    return tag + sizeUint32(n) + n;
  }
  if (f.type === 'string') {
    const n = Buffer.byteLength(asString(f, v), 'utf8');
    sizes.push(n);
    return tag + sizeUint32(n) + n;
  }
  return tag + sizeScalar(f, v);
}

function sizeScalar(f: CompiledField, v: unknown): number {
  switch (f.type) {
    case 'bytes': {
      const n = asBytes(f, v).length;
      return sizeUint32(n) + n;
    }
    case 'bool':
      return 1;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'uint32':
      return sizeUint32(asNumber(f, v) >>> 0);
    default: {
      const [lo, hi] = splitInt64(asNumber(f, v));
      return sizeInt64(lo, hi);
    }
  }
}

function writeBody(t: Compiled, msg: Message, w: Writer, sizes: number[], cur: { i: number }): void {
  for (const f of t.fields) {
    const v = msg[f.name];
    if (v === undefined || v === null) continue;
    if (f.mapKey) {
      const [keyField, valueField] = f.entry!.fields as [CompiledField, CompiledField];
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        w.uint32(f.tag);
        w.uint32(sizes[cur.i++]!);
        writeField(keyField, k, w, sizes, cur);
        writeField(valueField, val ?? {}, w, sizes, cur);
      }
    } else if (f.repeated) {
      const list = v as unknown[];
      if (f.wire === WIRE.LEN && WIRE_OF[f.type] !== WIRE.LEN) {
        if (list.length === 0) continue;
        w.uint32(f.tag);
        w.uint32(sizes[cur.i++]!);
        for (const x of list) writeScalar(f, x, w);
      } else for (const x of list) writeField(f, x, w, sizes, cur);
    } else if (!isDefault(f, v)) writeField(f, v, w, sizes, cur);
  }
}

function writeField(f: CompiledField, v: unknown, w: Writer, sizes: number[], cur: { i: number }): void {
  w.uint32((f.no << 3) | WIRE_OF[f.type]);
  if (f.sub) {
    w.uint32(sizes[cur.i++]!);
    writeBody(f.sub, v as Message, w, sizes, cur);
  } else if (f.type === 'string') {
    const n = sizes[cur.i++]!;
    w.uint32(n);
    w.utf8(asString(f, v), n);
  } else writeScalar(f, v, w);
}

function writeScalar(f: CompiledField, v: unknown, w: Writer): void {
  switch (f.type) {
    case 'bytes': {
      const b = asBytes(f, v);
      w.uint32(b.length);
      w.raw(b);
      return;
    }
    case 'bool':
      w.uint32(v ? 1 : 0);
      return;
    case 'float':
      w.float(asNumber(f, v));
      return;
    case 'double':
      w.double(asNumber(f, v));
      return;
    case 'uint32':
      w.uint32(asNumber(f, v) >>> 0);
      return;
    default:
      w.int64(...splitInt64(asNumber(f, v)));
  }
}

// Values are coerced as protobufjs's fromObject coerces them (numbers and booleans into string
// fields, numeric strings into integer fields, base64 into bytes); anything else is refused.

function asString(f: CompiledField, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  throw typeError(f, 'a string', v);
}

function asNumber(f: CompiledField, v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' || typeof v === 'bigint' ? Number(v) : NaN;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (Number.isNaN(n)) throw typeError(f, `a number (${f.type})`, v);
  return n;
}

function asBytes(f: CompiledField, v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  throw typeError(f, 'bytes (a Buffer or Uint8Array)', v);
}

function typeError(f: CompiledField, expected: string, v: unknown): Error {
  const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
  return new TypeError(`protobuf ${f.path} (field ${f.no}): expected ${expected}, got ${got}`);
}

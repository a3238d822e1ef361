/**
 * Protocol buffers wire format (proto3), the byte level: varints, 64-bit integers as two 32-bit
 * halves (no BigInt on the hot path), fixed 32/64-bit values, length-delimited strings and bytes,
 * and skipping a field of any wire type. `codec.ts` builds messages on top of it.
 * Reference: https://protobuf.dev/programming-guides/encoding/
 */

export const WIRE = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

const TWO_32 = 4294967296;

/** A decoding failure: what was wrong and at which byte. */
export class WireError extends Error {}

/** Reads a protobuf-encoded buffer front to back. */
export class Reader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** An unsigned varint of at most 32 significant bits (tags, lengths, bool, int32's low half). */
  uint32(): number {
    const b = this.buf;
    let v = 0;
    let shift = 0;
    while (this.pos < this.end) {
      const byte = b[this.pos++]!;
      if (shift < 28) v |= (byte & 0x7f) << shift;
      else if (shift === 28) v |= (byte & 0x0f) << 28; // only 4 bits fit; the rest is int32's sign extension
      if ((byte & 0x80) === 0) return v >>> 0;
      shift += 7;
      if (shift > 63) throw new WireError(`varint longer than 10 bytes at byte ${this.pos}`);
    }
    throw new WireError(`truncated varint at byte ${this.pos}`);
  }

  /** A varint as a 64-bit two's complement integer, as a Number (exact up to 2^53, like protobufjs's longs: Number). */
  int64(): number {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    while (this.pos < this.end) {
      const byte = b[this.pos++]!;
      const bits = byte & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else if (shift < 64) hi |= bits << (shift - 32);
      if ((byte & 0x80) === 0) return toNumber(lo >>> 0, hi >>> 0);
      shift += 7;
      if (shift > 63) throw new WireError(`varint longer than 10 bytes at byte ${this.pos}`);
    }
    throw new WireError(`truncated varint at byte ${this.pos}`);
  }

  /** An unsigned 64-bit varint as a Number. */
  uint64(): number {
    const signed = this.int64();
    return signed >= 0 ? signed : signed + 2 ** 64; // rounded as a Number, like protobufjs's longs: Number
  }

  /** int32: the low 32 bits of the varint, signed (negative int32s travel sign-extended to 10 bytes). */
  int32(): number {
    return this.uint32() | 0;
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  fixed32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): number {
    this.need(8);
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    return toNumber(lo, hi);
  }

  float(): number {
    this.need(4);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** The [start, end) of a length-delimited field's payload; moves past it. */
  span(): [number, number] {
    const len = this.uint32();
    const start = this.pos;
    this.need(len);
    this.pos += len;
    return [start, start + len];
  }

  string(): string {
    const [s, e] = this.span();
    return this.buf.toString('utf8', s, e);
  }

  /** A copy, so a decoded message never pins the whole received frame. */
  bytes(): Buffer {
    const [s, e] = this.span();
    return Buffer.from(this.buf.subarray(s, e));
  }

  /** Skips one field's value of the given wire type (an unknown field: forward compatibility). */
  skip(wire: number, field: number): void {
    switch (wire) {
      case WIRE.VARINT:
        this.int64();
        return;
      case WIRE.I64:
        this.need(8);
        this.pos += 8;
        return;
      case WIRE.LEN:
        this.span();
        return;
      case WIRE.I32:
        this.need(4);
        this.pos += 4;
        return;
      case WIRE.SGROUP:
        // A (deprecated) group: skip nested fields up to its end tag.
        for (;;) {
          const tag = this.uint32();
          const w = tag & 7;
          if (w === WIRE.EGROUP) {
            if (tag >>> 3 !== field) throw new WireError(`group ${field} closed by end tag of ${tag >>> 3}`);
            return;
          }
          this.skip(w, tag >>> 3);
        }
      default:
        throw new WireError(`field ${field}: invalid wire type ${wire} at byte ${this.pos}`);
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new WireError(`truncated: ${n} bytes needed at byte ${this.pos}`);
  }
}

/** A 64-bit two's complement integer (two unsigned halves) as a Number. */
function toNumber(lo: number, hi: number): number {
  if (hi >>> 31 === 0) return hi * TWO_32 + lo;
  // Negative: negate the 64-bit value (invert, add one) and put the sign back.
  const nlo = (~lo + 1) >>> 0;
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
  return -(nhi * TWO_32 + nlo);
}

/** The two unsigned 32-bit halves of a 64-bit two's complement integer given as a Number. */
export function splitInt64(n: number): [lo: number, hi: number] {
  const abs = Math.abs(Math.trunc(n));
  let lo = abs >>> 0;
  let hi = Math.floor(abs / TWO_32) >>> 0;
  if (n < 0) {
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  return [lo, hi];
}

/** Bytes a varint of an unsigned 32-bit value takes. */
export function sizeUint32(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes a varint of a 64-bit value (two halves) takes. */
export function sizeInt64(lo: number, hi: number): number {
  if (hi === 0) return sizeUint32(lo);
  // 32 bits in the low half's 5 varint bytes (4 full ones + 4 bits), the rest counted from the high half.
  return hi < 0x8 ? 5 : hi < 0x400 ? 6 : hi < 0x20000 ? 7 : hi < 0x1000000 ? 8 : hi < 0x80000000 ? 9 : 10;
}

/** Writes into a buffer of a size computed beforehand. */
export class Writer {
  pos = 0;
  readonly buf: Buffer;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  uint32(v: number): void {
    const b = this.buf;
    let x = v >>> 0;
    while (x >= 0x80) {
      b[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    b[this.pos++] = x;
  }

  int64(lo: number, hi: number): void {
    if (hi === 0) {
      this.uint32(lo);
      return;
    }
    const b = this.buf;
    let l = lo;
    let h = hi;
    // Seven bits at a time from the 64-bit value (h:l), shifting the high half into the low.
    while (h !== 0 || l >= 0x80) {
      b[this.pos++] = (l & 0x7f) | 0x80;
      l = ((l >>> 7) | (h << 25)) >>> 0;
      h >>>= 7;
    }
    b[this.pos++] = l;
  }

  fixed32(v: number): void {
    this.pos = this.buf.writeUInt32LE(v >>> 0, this.pos);
  }

  fixed64(lo: number, hi: number): void {
    this.pos = this.buf.writeUInt32LE(lo, this.pos);
    this.pos = this.buf.writeUInt32LE(hi, this.pos);
  }

  float(v: number): void {
    this.pos = this.buf.writeFloatLE(v, this.pos);
  }

  double(v: number): void {
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  /** UTF-8 text of a known byte length (the length prefix is written by the caller). */
  utf8(s: string, len: number): void {
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

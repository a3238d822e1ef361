/**
 * The MQTT 3.1.1 packets a client needs (OASIS MQTT 3.1.1, section 3), encoded to and decoded
 * from Buffers. No QoS 2 and no will message: `MqttConnection` never asks for either.
 *
 * Every packet is a fixed header (type in the high nibble of byte 0, flags in the low nibble,
 * then the "remaining length" as a base-128 varint of 1-4 bytes) followed by the rest.
 */

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const;

/** Largest remaining length MQTT can express (four varint bytes). */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** Why a broker refused a CONNECT (CONNACK return codes 1-5). */
export const CONNACK_REASONS: Record<number, string> = {
  1: 'the broker does not speak MQTT 3.1.1',
  2: 'the broker rejected the client id',
  3: 'the broker is unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

export interface ConnectOptions {
  clientId: string;
  keepaliveSeconds: number;
  cleanSession: boolean;
  username?: string | undefined;
  password?: string | undefined;
}

export type QoS = 0 | 1;

/** A packet from the broker, decoded. */
export type IncomingPacket =
  | { type: typeof PacketType.CONNACK; sessionPresent: boolean; returnCode: number }
  | {
      type: typeof PacketType.PUBLISH;
      topic: string;
      payload: Buffer;
      qos: number;
      retain: boolean;
      dup: boolean;
      packetId: number;
    }
  | { type: typeof PacketType.PUBACK | typeof PacketType.UNSUBACK; packetId: number }
  | { type: typeof PacketType.SUBACK; packetId: number; returnCodes: number[] }
  | { type: typeof PacketType.PINGRESP };

export class MqttProtocolError extends Error {
  override readonly name = 'MqttProtocolError';
}

function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Writes the fixed header at 0 and returns where the rest of the packet starts. */
function writeFixedHeader(buf: Buffer, byte0: number, remaining: number): number {
  buf[0] = byte0;
  let at = 1;
  let n = remaining;
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    buf[at++] = digit;
  } while (n > 0);
  return at;
}

function allocPacket(byte0: number, remaining: number): { buf: Buffer; at: number } {
  if (remaining > MAX_REMAINING_LENGTH) {
    throw new RangeError(`an MQTT packet holds at most ${MAX_REMAINING_LENGTH} bytes; this one needs ${remaining}`);
  }
  const buf = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining);
  return { buf, at: writeFixedHeader(buf, byte0, remaining) };
}

function writeString(buf: Buffer, at: number, s: string, bytes: number): number {
  buf.writeUInt16BE(bytes, at);
  buf.write(s, at + 2, bytes, 'utf8');
  return at + 2 + bytes;
}

function stringBytes(s: string, what: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  if (n > 65_535) throw new RangeError(`${what} is ${n} bytes; MQTT strings hold at most 65,535`);
  return n;
}

export function encodeConnect(o: ConnectOptions): Buffer {
  const id = stringBytes(o.clientId, 'the client id');
  const user = o.username === undefined ? -1 : stringBytes(o.username, 'the user name');
  const pass = o.password === undefined ? -1 : stringBytes(o.password, 'the password');
  // "MQTT" + level + flags + keepalive = 10 bytes of variable header
  const remaining = 10 + 2 + id + (user >= 0 ? 2 + user : 0) + (pass >= 0 ? 2 + pass : 0);
  const { buf, at: start } = allocPacket(PacketType.CONNECT << 4, remaining);
  let at = writeString(buf, start, 'MQTT', 4);
  buf[at++] = 4; // protocol level 4 = MQTT 3.1.1
  buf[at++] = (user >= 0 ? 0x80 : 0) | (pass >= 0 ? 0x40 : 0) | (o.cleanSession ? 0x02 : 0);
  buf.writeUInt16BE(o.keepaliveSeconds, at);
  at = writeString(buf, at + 2, o.clientId, id);
  if (o.username !== undefined) at = writeString(buf, at, o.username, user);
  if (o.password !== undefined) writeString(buf, at, o.password, pass);
  return buf;
}

/** A PUBLISH; `packetId` is needed (and only allowed) with QoS 1. */
export function encodePublish(
  topic: string,
  payload: string | Buffer,
  qos: QoS,
  retain: boolean,
  packetId = 0,
): Buffer {
  const topicBytes = stringBytes(topic, 'the topic');
  const payloadBytes = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + payloadBytes;
  const { buf, at: start } = allocPacket((PacketType.PUBLISH << 4) | (qos << 1) | (retain ? 1 : 0), remaining);
  let at = writeString(buf, start, topic, topicBytes);
  if (qos > 0) {
    buf.writeUInt16BE(packetId, at);
    at += 2;
  }
  if (typeof payload === 'string') buf.write(payload, at, payloadBytes, 'utf8');
  else payload.copy(buf, at);
  return buf;
}

/** Sets the DUP flag of an encoded PUBLISH (it is being sent again after a reconnect). */
export function markDuplicate(publish: Buffer): void {
  publish[0] = publish[0]! | 0x08;
}

export function encodePuback(packetId: number): Buffer {
  const buf = Buffer.allocUnsafe(4);
  buf[0] = PacketType.PUBACK << 4;
  buf[1] = 2;
  buf.writeUInt16BE(packetId, 2);
  return buf;
}

/** One SUBSCRIBE for any number of filters, each with the QoS it asks for. */
export function encodeSubscribe(packetId: number, subscriptions: readonly (readonly [string, QoS])[]): Buffer {
  const lengths = subscriptions.map(([f]) => stringBytes(f, `the topic filter "${f}"`));
  const remaining = 2 + lengths.reduce((sum, n) => sum + 2 + n + 1, 0);
  // SUBSCRIBE and UNSUBSCRIBE carry the reserved flags 0b0010.
  const { buf, at: start } = allocPacket((PacketType.SUBSCRIBE << 4) | 2, remaining);
  buf.writeUInt16BE(packetId, start);
  let at = start + 2;
  subscriptions.forEach(([f, qos], i) => {
    at = writeString(buf, at, f, lengths[i]!);
    buf[at++] = qos;
  });
  return buf;
}

export function encodeUnsubscribe(packetId: number, filters: readonly string[]): Buffer {
  const lengths = filters.map((f) => stringBytes(f, `the topic filter "${f}"`));
  const remaining = 2 + lengths.reduce((sum, n) => sum + 2 + n, 0);
  const { buf, at: start } = allocPacket((PacketType.UNSUBSCRIBE << 4) | 2, remaining);
  buf.writeUInt16BE(packetId, start);
  let at = start + 2;
  filters.forEach((f, i) => (at = writeString(buf, at, f, lengths[i]!)));
  return buf;
}

export const PINGREQ = Buffer.from([PacketType.PINGREQ << 4, 0]);
export const DISCONNECT = Buffer.from([PacketType.DISCONNECT << 4, 0]);

/**
 * Splits a byte stream into packets. `push` a chunk as it arrives, then call `next()` until it
 * returns undefined (the rest of a packet has not arrived yet). Stopping early is fine: the
 * bytes stay until the next `next()`, which is how a reader pauses between packets.
 */
export class PacketReader {
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;

  push(chunk: Buffer): void {
    this.buf = this.at < this.buf.length ? Buffer.concat([this.buf.subarray(this.at), chunk]) : chunk;
    this.at = 0;
  }

  /** Bytes received and not decoded yet. */
  get buffered(): number {
    return this.buf.length - this.at;
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
    this.at = 0;
  }

  next(): IncomingPacket | undefined {
    const buf = this.buf;
    const start = this.at;
    if (buf.length - start < 2) return undefined;
    let remaining = 0;
    let multiplier = 1;
    let at = start + 1;
    for (;;) {
      if (at >= buf.length) return undefined;
      const digit = buf[at++]!;
      remaining += (digit & 0x7f) * multiplier;
      if ((digit & 0x80) === 0) break;
      multiplier *= 128;
      if (at - start > 4) throw new MqttProtocolError('malformed remaining length (more than 4 bytes)');
    }
    const end = at + remaining;
    if (end > buf.length) return undefined;
    this.at = end;
    return decodePacket(buf[start]!, buf, at, end);
  }
}

function decodePacket(byte0: number, buf: Buffer, at: number, end: number): IncomingPacket {
  const type = byte0 >> 4;
  const length = end - at;
  const need = (n: number, what: string) => {
    if (length < n) throw new MqttProtocolError(`${what} of ${length} bytes is too short`);
  };
  switch (type) {
    case PacketType.CONNACK:
      need(2, 'CONNACK');
      return { type, sessionPresent: (buf[at]! & 1) === 1, returnCode: buf[at + 1]! };
    case PacketType.PUBLISH: {
      const qos = (byte0 >> 1) & 3;
      if (qos === 3) throw new MqttProtocolError('PUBLISH with QoS 3');
      need(2, 'PUBLISH');
      const topicLength = buf.readUInt16BE(at);
      let p = at + 2 + topicLength;
      if (p + (qos > 0 ? 2 : 0) > end) throw new MqttProtocolError('PUBLISH topic runs past the packet');
      const topic = buf.toString('utf8', at + 2, p);
      let packetId = 0;
      if (qos > 0) {
        packetId = buf.readUInt16BE(p);
        p += 2;
      }
      return {
        type,
        topic,
        payload: buf.subarray(p, end),
        qos,
        retain: (byte0 & 1) === 1,
        dup: (byte0 & 8) === 8,
        packetId,
      };
    }
    case PacketType.PUBACK:
    case PacketType.UNSUBACK:
      need(2, type === PacketType.PUBACK ? 'PUBACK' : 'UNSUBACK');
      return { type, packetId: buf.readUInt16BE(at) };
    case PacketType.SUBACK: {
      need(3, 'SUBACK');
      const returnCodes: number[] = [];
      for (let p = at + 2; p < end; p++) returnCodes.push(buf[p]!);
      return { type, packetId: buf.readUInt16BE(at), returnCodes };
    }
    case PacketType.PINGRESP:
      return { type };
    default:
      throw new MqttProtocolError(`unexpected packet type ${type} from the broker`);
  }
}

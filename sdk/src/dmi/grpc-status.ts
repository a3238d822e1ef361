/**
 * gRPC status codes and the pieces of the gRPC-over-HTTP/2 protocol both ends of the small DMI
 * transport share: the 5-byte message frame, the percent-encoded `grpc-message`, the
 * `grpc-timeout` header, and the error type calls fail with (shaped like grpc-js's ServiceError:
 * a numeric `code` and `details`, so callers written for grpc-js keep working).
 * Reference: https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md and doc/statuscodes.md
 */

export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

const NAMES = Object.fromEntries(Object.entries(Status).map(([k, v]) => [v, k])) as Record<number, string>;

export const statusName = (code: number): string => NAMES[code] ?? `STATUS_${code}`;

/** A failed call, or what a handler throws to answer with a status: `code` and `details` as in grpc-js. */
export class GrpcError extends Error {
  constructor(
    readonly code: Status,
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(`${code} ${statusName(code)}: ${details}`, options);
    this.name = 'GrpcError';
  }
}

/** The status a thrown value answers with: its own numeric gRPC `code`, else UNKNOWN (as grpc-js). */
export function statusOf(err: unknown): { code: Status; details: string } {
  const e = err as { code?: unknown; details?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.code === 'number' && e.code > 0 && e.code in NAMES) {
    return { code: e.code as Status, details: typeof e.details === 'string' ? e.details : message };
  }
  return { code: Status.UNKNOWN, details: message };
}

/**
 * `grpc-message` as the protocol asks: UTF-8, each byte outside printable ASCII, and `%` itself,
 * as %XX.
 */
export function encodeGrpcMessage(text: string): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

/** The text of a `grpc-message`; a `%` not followed by two hex digits is kept as it is. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value[i] === '%' ? value.slice(i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(value[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `grpc-timeout` for a deadline `ms` from now (at most 8 digits, as the protocol allows). */
export function encodeTimeout(ms: number): string {
  const n = Math.max(1, Math.ceil(ms));
  return n < 1e8 ? `${n}m` : `${Math.min(99_999_999, Math.ceil(n / 1000))}S`;
}

/** A `grpc-timeout` value in ms; undefined when absent or malformed. */
export function decodeTimeout(value: string | undefined): number | undefined {
  const m = value ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (!m) return undefined;
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[m[2] as 'H'];
  return Number(m[1]) * unitMs;
}

/** The status of a response that has no grpc-status, from its HTTP status (the spec's mapping). */
export function statusFromHttp(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/** A message in gRPC's length-prefixed frame: flag 0 (not compressed), 4-byte big-endian length. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/**
 * The one message of a unary call's body (possibly received in several chunks). Throws a
 * GrpcError (INTERNAL, or UNIMPLEMENTED for a compressed message) when the body is not one frame.
 */
export function unframe(chunks: Buffer[], what: string): Buffer {
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  if (body.length < 5)
    throw new GrpcError(Status.INTERNAL, `${what}: ${body.length} bytes, expected one gRPC message frame`);
  if (body[0] !== 0)
    throw new GrpcError(Status.UNIMPLEMENTED, `${what}: compressed messages are not supported (flag ${body[0]})`);
  const len = body.readUInt32BE(1);
  if (body.length !== 5 + len)
    throw new GrpcError(
      Status.INTERNAL,
      `${what}: frame announces ${len} bytes but ${body.length - 5} arrived (a unary call carries exactly one message)`,
    );
  return body.subarray(5);
}

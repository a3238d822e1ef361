/**
 * Bounds on twin values and on the payloads that carry them, the same on every entry point
 * (HTTP, `/set` data topics, `$hw` twin/update and state/update), and `excerpt()`: the short,
 * safe rendering of a bad value that error messages show instead of the whole value.
 */
import { EdgeTwinError } from '../errors.js';

export const VALUE_LIMITS = {
  /** Characters of a STRING or BYTES value (KubeEdge's `$hw` value limit). */
  maxStringLength: 512,
  /** Nesting depth of a JSON payload (arrays and objects); `{"a":[1]}` is depth 2. */
  maxDepth: 32,
  /** Bytes of one request body or MQTT payload. */
  maxPayloadBytes: 256 * 1024,
} as const;

/** How many characters an excerpt shows by default. */
export const EXCERPT_LENGTH = 64;

/**
 * A short rendering of any value for an error message: at most `max` characters (plus the
 * length of what was cut), never recursing deeper than three levels, so a 1 MB string or an
 * array nested thousands deep costs the same as a number.
 */
export function excerpt(value: unknown, max: number = EXCERPT_LENGTH): string {
  const out = render(value, 3, max + 1);
  if (out.length <= max) return out;
  const total = typeof value === 'string' ? ` (${value.length} characters)` : '';
  return `${out.slice(0, max)}…${total}`;
}

function render(v: unknown, depth: number, budget: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > budget ? v.slice(0, budget) : v);
  if (v === null || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) {
    if (depth === 0) return v.length === 0 ? '[]' : '[…]';
    let s = '[';
    for (const item of v as unknown[]) {
      if (s.length > budget) break;
      s += (s.length > 1 ? ',' : '') + render(item, depth - 1, budget - s.length);
    }
    return `${s}]`;
  }
  if (depth === 0) return '{…}';
  let s = '{';
  for (const [k, item] of Object.entries(v)) {
    if (s.length > budget) break;
    s += `${s.length > 1 ? ',' : ''}${render(k, 0, budget)}:${render(item, depth - 1, budget - s.length)}`;
  }
  return `${s}}`;
}

/** Nesting depth of a parsed JSON value, counted without recursion; stops counting past `limit`. */
export function jsonDepth(value: unknown, limit: number = Number.MAX_SAFE_INTEGER): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? (v as unknown[]) : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth]);
    }
  }
  return max;
}

/** Throws ET_TOO_DEEP when `value` nests deeper than `maxDepth`. */
export function checkDepth(value: unknown, what: string, maxDepth: number = VALUE_LIMITS.maxDepth): void {
  if (jsonDepth(value, maxDepth) > maxDepth) {
    throw new EdgeTwinError(
      'ET_TOO_DEEP',
      `${what} nests arrays/objects more than ${maxDepth} levels deep (the limit); send a flat value`,
      { details: { limit: maxDepth } },
    );
  }
}

/** Throws ET_TOO_LARGE when a payload is over `maxBytes`. */
export function checkPayloadSize(bytes: number, what: string, maxBytes: number = VALUE_LIMITS.maxPayloadBytes): void {
  if (bytes > maxBytes) {
    throw new EdgeTwinError(
      'ET_TOO_LARGE',
      `${what} is ${bytes} bytes, over the limit of ${maxBytes} bytes; send a smaller payload`,
      { details: { limit: maxBytes, size: bytes } },
    );
  }
}

/**
 * Parses a JSON payload within the limits: size first (before any parsing), then JSON
 * (ET_SCHEMA), then nesting depth.
 */
export function parseBoundedJson(
  payload: Buffer | string,
  what: string,
  limits: { maxPayloadBytes?: number; maxDepth?: number } = {},
): unknown {
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  checkPayloadSize(bytes, what, limits.maxPayloadBytes);
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new EdgeTwinError('ET_SCHEMA', `${what} is not valid JSON: ${excerpt((err as Error).message, 120)}`, {
      cause: err,
    });
  }
  checkDepth(value, what, limits.maxDepth);
  return value;
}

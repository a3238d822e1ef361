/**
 * Typed twin values. The CRD and the `$hw` wire format carry strings; everywhere else a value has
 * the real type its DeviceModel property declares.
 */
import { EdgeTwinError } from '../errors.js';
import { excerpt, VALUE_LIMITS } from './limits.js';
import type { ModelProperty, PropertyType } from './resources.js';

/** INT -> integer number, FLOAT/DOUBLE -> number, BOOLEAN -> boolean, STRING/STREAM -> string, BYTES -> base64 string. */
export type TwinValue = number | boolean | string;

/** `metadata.type` values of the KubeEdge twin protocol. */
export const WireTypes = ['string', 'int', 'integer', 'float', 'boolean', 'deleted'] as const;
export type WireType = (typeof WireTypes)[number];

export function wireTypeOf(type: PropertyType): WireType {
  switch (type) {
    case 'INT':
      return 'int';
    case 'FLOAT':
    case 'DOUBLE':
      return 'float';
    case 'BOOLEAN':
      return 'boolean';
    case 'STRING':
    case 'BYTES':
    case 'STREAM':
      return 'string';
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bad(type: PropertyType, got: unknown, why = ''): EdgeTwinError {
  const shown = excerpt(got);
  return new EdgeTwinError('ET_BAD_VALUE', `expected ${describeType(type)}, got ${shown}${why}`, {
    details: { expected: type, got: shown },
  });
}

/** STRING and BYTES values longer than VALUE_LIMITS.maxStringLength are refused wherever they come from. */
function checkLength(type: PropertyType, raw: string): string {
  const max = VALUE_LIMITS.maxStringLength;
  if (raw.length <= max) return raw;
  throw new EdgeTwinError(
    'ET_TOO_LARGE',
    `expected ${describeType(type)} of at most ${max} characters (the limit), got ${raw.length} characters: ${excerpt(raw, 32)}`,
    { details: { expected: type, limit: max, size: raw.length } },
  );
}

export function describeType(type: PropertyType): string {
  switch (type) {
    case 'INT':
      return 'an integer (INT)';
    case 'FLOAT':
    case 'DOUBLE':
      return `a number (${type})`;
    case 'BOOLEAN':
      return 'a boolean (BOOLEAN)';
    case 'STRING':
      return 'a string (STRING)';
    case 'BYTES':
      return 'base64-encoded bytes (BYTES)';
    case 'STREAM':
      return 'a string (STREAM)';
  }
}

/**
 * Coerces a value from any source into the property's type: JSON values from HTTP and data
 * topics, or strings from the CRD and `$hw` messages ("23", "true", "1.5"). Throws ET_BAD_VALUE.
 */
export function coerceValue(type: PropertyType, raw: unknown): TwinValue {
  switch (type) {
    case 'INT': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(type, raw);
      if (!Number.isInteger(n)) throw bad(type, raw, ' (not a whole number)');
      if (!Number.isSafeInteger(n)) throw bad(type, raw, ' (outside the safe integer range)');
      return n;
    }
    case 'FLOAT':
    case 'DOUBLE': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(type, raw);
      return n;
    }
    case 'BOOLEAN': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw bad(type, raw);
    }
    case 'STRING':
    case 'STREAM': {
      if (typeof raw === 'string') return checkLength(type, raw);
      throw bad(type, raw);
    }
    case 'BYTES': {
      if (typeof raw === 'string' && raw.length > VALUE_LIMITS.maxStringLength) return checkLength(type, raw);
      if (typeof raw === 'string' && BASE64.test(raw) && raw.length % 4 === 0) return raw;
      throw bad(type, raw);
    }
  }
}

/** The KubeEdge wire form (a string) of a typed value. */
export function formatValue(value: TwinValue): string {
  return typeof value === 'string' ? value : String(value);
}

/** Type-aware equality: for a numeric property `"1"`, `1` and `1.0` are equal. */
export function valuesEqual(type: PropertyType, a: unknown, b: unknown): boolean {
  try {
    return coerceValue(type, a) === coerceValue(type, b);
  } catch {
    return a === b;
  }
}

/** Checks a typed value against the property's minimum and maximum (numeric types only). */
export function checkRange(prop: Pick<ModelProperty, 'type' | 'minimum' | 'maximum'>, value: TwinValue): void {
  if (typeof value !== 'number') return;
  const min = prop.minimum === undefined ? undefined : Number(prop.minimum);
  const max = prop.maximum === undefined ? undefined : Number(prop.maximum);
  if (min !== undefined && Number.isFinite(min) && value < min) {
    throw new EdgeTwinError('ET_BAD_VALUE', `${value} is below the minimum ${min}`, {
      details: { minimum: min, got: value },
    });
  }
  if (max !== undefined && Number.isFinite(max) && value > max) {
    throw new EdgeTwinError('ET_BAD_VALUE', `${value} is above the maximum ${max}`, {
      details: { maximum: max, got: value },
    });
  }
}

/** Coerces, then checks the range: what every desired value passes before it is accepted. */
export function validateDesired(prop: ModelProperty, raw: unknown): TwinValue {
  if (prop.accessMode === 'ReadOnly') {
    throw new EdgeTwinError('ET_READ_ONLY', `property ${prop.name} is ReadOnly and takes no desired value`, {
      details: { property: prop.name },
    });
  }
  const v = coerceValue(prop.type, raw);
  checkRange(prop, v);
  return v;
}

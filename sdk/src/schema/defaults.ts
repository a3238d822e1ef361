/**
 * Schema defaults, filled in where the schema has any. TypeBox's `Value.Default` walks the whole
 * value against the whole schema, for every field, to find the two `default`s a Device has; for
 * 1,000 Devices that walk was the largest single cost of edgecore's start-up (more than parsing
 * the YAML). Here each schema is looked at once: subtrees that hold no default are skipped, plain
 * objects and arrays on the way to a default are walked here, and anything else that holds one
 * (unions, intersections, references, records) is handed to `Value.Default`, so the result is
 * always what `Value.Default` gives (`defaults.test.ts` compares them).
 */
import type { TSchema } from '@sinclair/typebox';
import { Value } from '../typebox.js';

const holdsDefault = new WeakMap<TSchema, boolean>();

/** Whether `schema` or anything under it declares a `default` (references count as "maybe"). */
function hasDefaults(schema: TSchema): boolean {
  const known = holdsDefault.get(schema);
  if (known !== undefined) return known;
  holdsDefault.set(schema, true); // a recursive schema that reaches itself: assume it may
  const s = schema as Record<string, unknown>;
  const children: unknown[] = [
    ...Object.values((s.properties as Record<string, TSchema> | undefined) ?? {}),
    ...Object.values((s.patternProperties as Record<string, TSchema> | undefined) ?? {}),
    ...((s.anyOf as TSchema[] | undefined) ?? []),
    ...((s.allOf as TSchema[] | undefined) ?? []),
    ...((s.oneOf as TSchema[] | undefined) ?? []),
    ...(Array.isArray(s.items) ? (s.items as TSchema[]) : [s.items]),
    s.additionalProperties,
    s.not,
  ];
  const result =
    'default' in s ||
    '$ref' in s ||
    children.some((c) => typeof c === 'object' && c !== null && hasDefaults(c as TSchema));
  holdsDefault.set(schema, result);
  return result;
}

function isPlainObjectSchema(s: Record<string, unknown>): boolean {
  return (
    s.type === 'object' &&
    s.properties !== undefined &&
    s.patternProperties === undefined &&
    !('default' in s) &&
    (s.additionalProperties === undefined || typeof s.additionalProperties === 'boolean')
  );
}

/**
 * An array schema with one item schema. Its own `default` matters only when the value is not an
 * array (Value.Default then starts from a clone of it); an array value is filled item by item
 * either way. Device.spec.properties is such an array (`default: []`): handing it to Value.Default
 * walked every property of every Device against the whole property schema.
 */
function isPlainArraySchema(s: Record<string, unknown>): boolean {
  return s.type === 'array' && typeof s.items === 'object' && s.items !== null && !Array.isArray(s.items);
}

/** Fills `value`'s missing fields with the schema's defaults, in place where it can; returns the result. */
export function applyDefaults(schema: TSchema, value: unknown): unknown {
  if (!hasDefaults(schema)) return value;
  const s = schema as Record<string, unknown>;
  if (isPlainObjectSchema(s) && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const [key, sub] of Object.entries(s.properties as Record<string, TSchema>)) {
      if (!hasDefaults(sub)) continue;
      const next = applyDefaults(sub, obj[key]);
      if (next !== undefined || key in obj) obj[key] = next;
    }
    return obj;
  }
  if (isPlainArraySchema(s) && Array.isArray(value)) {
    const items = s.items as TSchema;
    for (let i = 0; i < value.length; i++) value[i] = applyDefaults(items, value[i]);
    return value;
  }
  return Value.Default(schema, value);
}

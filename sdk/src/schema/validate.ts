import type { Static, TSchema } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { EdgeTwinError, type ErrorDetails } from '../errors.js';
import { applyDefaults } from './defaults.js';
import { TypeCompiler, Value } from '../typebox.js';

export interface SchemaIssue {
  /** JSON pointer of the offending field, '' for the root. */
  path: string;
  message: string;
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c as TypeCheck<T>;
}

/**
 * Checks `value` against `schema` and returns the problems, most specific first. Union errors are
 * reduced to one line per path so messages stay readable.
 */
export function schemaIssues(schema: TSchema, value: unknown): SchemaIssue[] {
  const c = checker(schema);
  if (c.Check(value)) return [];
  const seen = new Set<string>();
  const issues: SchemaIssue[] = [];
  for (const e of c.Errors(value)) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    issues.push({ path: e.path, message: e.message });
  }
  // Deepest paths first: "/spec/properties/0/type" says more than "/spec".
  return issues.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
}

/**
 * Validates `value` in place against a schema without defaults and returns it typed, or throws
 * `ET_SCHEMA` like parseWithSchema. For hot paths whose input is a freshly parsed JSON object
 * (no copy is needed, and the compiled check is all the work).
 */
export function checkWithSchema<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  if (checker(schema).Check(value)) return value;
  return parseWithSchema(schema, value, what); // throws with the readable issues
}

/**
 * Applies schema defaults to a copy of `value`, validates it and returns it typed, or throws an
 * `ET_SCHEMA` error whose message names `what` (e.g. "Device default/boiler in devices.yaml"),
 * the field path and what was expected. With `owned: true` the caller hands over a value nothing
 * else refers to (freshly parsed YAML or JSON): defaults are then filled in place, without the
 * copy, which is most of the cost of loading 1,000 Devices.
 */
export function parseWithSchema<T extends TSchema>(
  schema: T,
  value: unknown,
  what: string,
  details: ErrorDetails = {},
  opts: { owned?: boolean } = {},
): Static<T> {
  const withDefaults = applyDefaults(schema, opts.owned ? value : Value.Clone(value));
  const issues = schemaIssues(schema, withDefaults);
  const first = issues[0];
  if (first) {
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    throw new EdgeTwinError('ET_SCHEMA', `${what}: field ${first.path || '(root)'}: ${first.message}${more}`, {
      details: { ...details, path: first.path, issues },
    });
  }
  return withDefaults;
}

/**
 * parseWithSchema for a mapper's configData. KubeEdge's samples write numbers and booleans as
 * strings (`port: "5502"`, `slaveID: "1"`) because KubeEdge's Go mappers cast them; such strings are
 * converted where the schema's field is a number, an integer or a boolean, then defaults apply and the
 * result is validated as usual (a string that is no number still fails, naming the field). A null
 * configData (YAML `configData:` holding only a comment) is an empty one.
 */
export function parseConfigData<T extends TSchema>(
  schema: T,
  value: unknown,
  what: string,
  details: ErrorDetails = {},
): Static<T> {
  return parseWithSchema(schema, numbersFromStrings(schema, Value.Clone(value ?? {})), what, details);
}

const NUMBER_TEXT = /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** Strings that spell a number or a boolean, where the schema's field asks for one, become one. */
function numbersFromStrings(schema: TSchema, value: unknown): unknown {
  if (typeof value === 'string') {
    const type: unknown = schema.type;
    if ((type === 'integer' || type === 'number') && NUMBER_TEXT.test(value)) return Number(value);
    if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
    return value;
  }
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (props && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const [key, sub] of Object.entries(props)) {
      if (key in record) record[key] = numbersFromStrings(sub, record[key]);
    }
  }
  return value;
}

/**
 * Drops object fields whose value is null, recursively (array items stay), in place, and returns the
 * value. The Kubernetes API server does the same to every field its schema does not mark nullable,
 * so a YAML file loads in embedded mode exactly as `kubectl apply` stores it: a `configData:` that
 * holds only a comment is no configData.
 */
export function pruneNulls<T>(value: T): T {
  if (Array.isArray(value)) {
    for (const item of value) pruneNulls(item);
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (record[key] === null) delete record[key];
      else pruneNulls(record[key]);
    }
  }
  return value;
}

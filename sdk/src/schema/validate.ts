import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { EdgeTwinError, type ErrorDetails } from '../errors.js';

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
 * the field path and what was expected.
 */
export function parseWithSchema<T extends TSchema>(
  schema: T,
  value: unknown,
  what: string,
  details: ErrorDetails = {},
): Static<T> {
  const withDefaults = Value.Default(schema, Value.Clone(value));
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

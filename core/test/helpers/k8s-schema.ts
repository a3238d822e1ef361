/**
 * Offline schema validation of Kubernetes manifests against the API models that
 * @kubernetes/client-node generates from the Kubernetes OpenAPI document: every field must exist
 * in its type (a misspelled `replicaz` or a field at the wrong level is reported with its path)
 * and have the JSON type the API declares.
 */
import * as k8s from '@kubernetes/client-node';

interface Attribute {
  baseName: string;
  type: string;
}
type Model = { getAttributeTypeMap(): Attribute[] };

function model(type: string): Model | undefined {
  const m = (k8s as unknown as Record<string, unknown>)[type];
  return typeof m === 'function' && 'getAttributeTypeMap' in m ? (m as unknown as Model) : undefined;
}

/** The problems of `value` as the API type `type` (e.g. `V1Deployment`); empty when valid. */
export function validateAs(value: unknown, type: string, path = ''): string[] {
  const at = path || '/';
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return [`${at}: expected an array`];
    return value.flatMap((v, i) => validateAs(v, array[1]!, `${path}/${i}`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected an object`];
    return Object.entries(value).flatMap(([k, v]) => validateAs(v, map[1]!, `${path}/${k}`));
  }
  switch (type) {
    case 'string':
    case 'Date':
      return typeof value === 'string' ? [] : [`${at}: expected a string`];
    case 'number':
      return typeof value === 'number' ? [] : [`${at}: expected a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: expected a boolean`];
    case 'IntOrString':
      return typeof value === 'string' || typeof value === 'number' ? [] : [`${at}: expected an int or a string`];
    case 'any':
    case 'object':
      return [];
  }
  const m = model(type);
  if (!m) return [`${at}: no API model ${type}`];
  if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: expected an object (${type})`];
  const attrs = new Map(m.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([k, v]) => {
    const t = attrs.get(k);
    return t === undefined ? [`${path}/${k}: unknown field in ${type}`] : validateAs(v, t, `${path}/${k}`);
  });
}

/** Validates a manifest by its apiVersion and kind (core and apps/rbac groups, v1). */
export function validateManifest(doc: { apiVersion?: unknown; kind?: unknown }): string[] {
  if (typeof doc.kind !== 'string' || typeof doc.apiVersion !== 'string')
    return ['/: apiVersion and kind are required'];
  const kind = doc.kind;
  const version = doc.apiVersion.split('/').pop()!;
  const type = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return validateAs(doc, type).map((p) => `${kind}: ${p}`);
}

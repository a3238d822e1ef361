/**
 * The Device and DeviceModel CustomResourceDefinitions, generated from the sdk's TypeBox schemas
 * (the single source of truth). TypeBox emits JSON Schema with its own symbols and constructs
 * Kubernetes does not accept (const, anyOf of literals, patternProperties, additionalProperties
 * next to properties); `toStructural` turns them into a structural OpenAPI v3 schema.
 */
import { API_GROUP, DeviceModelSchema, DeviceSchema } from '@edgetwin/sdk';

type Json = Record<string, unknown>;

const KEEP = [
  'description',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'default',
  'minItems',
  'maxItems',
];

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Converts one TypeBox (JSON Schema) node into a structural Kubernetes schema node. */
export function toStructural(schema: unknown): Json {
  if (!isObj(schema)) return {};
  const out: Json = {};
  for (const k of KEEP) if (schema[k] !== undefined) out[k] = schema[k];
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;

  if (typeof schema.const === 'string') return { ...out, type: 'string', enum: [schema.const] };
  const alts = schema.anyOf;
  if (Array.isArray(alts)) {
    const consts = alts.map((a) => (isObj(a) ? a.const : undefined));
    if (consts.every((c) => typeof c === 'string')) return { ...out, type: 'string', enum: consts };
    // A union of different types (number or numeric string): structural schemas need one type,
    // so the field keeps any scalar and validation stays with the runtime schema.
    return { ...out, 'x-kubernetes-preserve-unknown-fields': true };
  }
  switch (schema.type) {
    case 'object': {
      out.type = 'object';
      if (isObj(schema.properties)) {
        const props: Json = {};
        for (const [name, sub] of Object.entries(schema.properties)) props[name] = toStructural(sub);
        out.properties = props;
        if (Array.isArray(schema.required) && schema.required.length > 0) out.required = schema.required;
        // Fields EdgeTwin does not know yet are kept, so KubeEdge YAML with extra fields applies.
        if (schema.additionalProperties === true || preserve) out['x-kubernetes-preserve-unknown-fields'] = true;
      } else if (preserve) {
        out['x-kubernetes-preserve-unknown-fields'] = true;
      } else if (isObj(schema.patternProperties)) {
        const inner = Object.values(schema.patternProperties)[0];
        out.additionalProperties = toStructural(inner);
      }
      return out;
    }
    case 'array':
      return { ...out, type: 'array', items: toStructural(schema.items) };
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return { ...out, type: schema.type };
    default:
      return { ...out, 'x-kubernetes-preserve-unknown-fields': true };
  }
}

/** Top-level: Kubernetes only allows apiVersion/kind/metadata to be plain. */
function rootSchema(schema: unknown): Json {
  const s = toStructural(schema);
  const props = { ...(s.properties as Json) };
  props.apiVersion = { type: 'string', description: 'devices.kubeedge.io/v1beta1' };
  props.kind = { type: 'string' };
  props.metadata = { type: 'object' };
  const root: Json = { type: 'object', properties: props };
  if (Array.isArray(s.required)) root.required = (s.required as string[]).filter((r) => r === 'spec');
  return root;
}

interface CrdNames {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
}

function crd(names: CrdNames, schema: unknown, columns: Json[], status: boolean): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: {
        kind: names.kind,
        listKind: `${names.kind}List`,
        plural: names.plural,
        singular: names.singular,
        shortNames: names.shortNames,
      },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1beta1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: rootSchema(schema) },
          ...(status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: [
            ...columns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

/** The two CRDs, as objects ready for `kubectl apply` (YAML or JSON). */
export function deviceCrds(): { device: Json; deviceModel: Json } {
  return {
    deviceModel: crd(
      { kind: 'DeviceModel', plural: 'devicemodels', singular: 'devicemodel', shortNames: ['dm'] },
      DeviceModelSchema,
      [{ name: 'Protocol', type: 'string', jsonPath: '.spec.protocol' }],
      false,
    ),
    device: crd(
      { kind: 'Device', plural: 'devices', singular: 'device', shortNames: ['dev'] },
      DeviceSchema,
      [
        { name: 'Model', type: 'string', jsonPath: '.spec.deviceModelRef.name' },
        { name: 'Node', type: 'string', jsonPath: '.spec.nodeName' },
        { name: 'State', type: 'string', jsonPath: '.status.state' },
        { name: 'Last-Online', type: 'string', jsonPath: '.status.lastOnlineTime', priority: 1 },
      ],
      true,
    ),
  };
}

/**
 * Validating Pods at the boundary (manifest files, the cloud): schema first, then the rules a
 * schema cannot say (one handler per probe, mounts that name a volume, ...). Every refusal is an
 * `ET_SCHEMA` EdgeTwinError naming the pod, the field and what to do.
 */
import { DEFAULT_NAMESPACE, EdgeTwinError, schemaIssues, type ErrorDetails } from '@edgetwin/sdk';
import { ConfigMapSchema, PodSchema, type ConfigMap, type Pod, type Probe } from './pod-schema.js';
import { Value } from '@edgetwin/sdk/typebox';

export function podKey(pod: { metadata: { name: string; namespace?: string | undefined } }): string {
  return `${pod.metadata.namespace ?? DEFAULT_NAMESPACE}/${pod.metadata.name}`;
}

function pointerToField(path: string): string {
  return path
    .split('/')
    .filter(Boolean)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

function refuse(what: string, path: string, message: string, details: ErrorDetails): never {
  throw new EdgeTwinError('ET_SCHEMA', `${what}: ${message}`, { details: { ...details, path } });
}

/** Validates and defaults a Pod; throws `ET_SCHEMA` with a reason for anything the agent cannot run. */
export function parsePod(value: unknown, source = 'pod', details: ErrorDetails = {}): Pod {
  const meta = (value as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const name = typeof meta?.name === 'string' ? meta.name : '?';
  const ns = typeof meta?.namespace === 'string' ? meta.namespace : DEFAULT_NAMESPACE;
  const what = `Pod ${ns}/${name} (${source})`;
  const withDefaults: unknown = Value.Default(PodSchema, Value.Clone(value));
  const issues = schemaIssues(PodSchema, withDefaults);
  const unsupported = issues.find((i) => i.message.toLowerCase().includes('unexpected property'));
  if (unsupported) {
    refuse(
      what,
      unsupported.path,
      `field ${pointerToField(unsupported.path)} is not supported by the EdgeTwin pod agent; remove it (see the Pod subset in core/agent/README.md)`,
      { ...details, unsupported: true },
    );
  }
  const first = issues[0];
  if (first) {
    refuse(what, first.path, `field ${pointerToField(first.path) || '(root)'}: ${first.message}`, {
      ...details,
      issues,
    });
  }
  const pod = withDefaults as Pod;
  checkRules(pod, what, details);
  return pod;
}

function checkProbe(p: Probe | undefined, path: string, what: string, details: ErrorDetails): void {
  if (!p) return;
  const handlers = [p.exec, p.httpGet, p.tcpSocket].filter((h) => h !== undefined).length;
  if (handlers !== 1) {
    refuse(what, path, `${pointerToField(path)} needs exactly one of exec, httpGet, tcpSocket`, details);
  }
}

function checkRules(pod: Pod, what: string, details: ErrorDetails): void {
  const volumes = new Map<string, string>();
  for (const [i, v] of (pod.spec.volumes ?? []).entries()) {
    const path = `/spec/volumes/${i}`;
    const kinds = (['hostPath', 'emptyDir', 'configMap', 'projected'] as const).filter((k) => v[k] !== undefined);
    if (kinds.length !== 1 || !kinds[0]) {
      refuse(what, path, `volume "${v.name}" needs exactly one of hostPath, emptyDir, configMap`, details);
    }
    if (kinds[0] === 'projected' && !v.name.startsWith('kube-api-access-')) {
      refuse(
        what,
        path,
        `volume "${v.name}": projected volumes are not supported on the edge; use a configMap`,
        details,
      );
    }
    if (volumes.has(v.name)) refuse(what, path, `volume name "${v.name}" is used twice`, details);
    volumes.set(v.name, kinds[0]);
  }
  const names = new Set<string>();
  for (const [i, c] of pod.spec.containers.entries()) {
    const path = `/spec/containers/${i}`;
    if (names.has(c.name)) refuse(what, path, `container name "${c.name}" is used twice`, details);
    names.add(c.name);
    for (const [j, m] of (c.volumeMounts ?? []).entries()) {
      if (!volumes.has(m.name)) {
        refuse(
          what,
          `${path}/volumeMounts/${j}`,
          `container "${c.name}" mounts volume "${m.name}" that spec.volumes does not define`,
          details,
        );
      }
    }
    checkProbe(c.livenessProbe, `${path}/livenessProbe`, what, details);
    checkProbe(c.readinessProbe, `${path}/readinessProbe`, what, details);
  }
}

export function parseConfigMap(value: unknown, source = 'configmap'): ConfigMap {
  const issues = schemaIssues(ConfigMapSchema, Value.Default(ConfigMapSchema, Value.Clone(value)));
  const first = issues[0];
  if (first) {
    throw new EdgeTwinError('ET_SCHEMA', `ConfigMap (${source}): field ${first.path}: ${first.message}`, {
      details: { path: first.path },
    });
  }
  return Value.Default(ConfigMapSchema, Value.Clone(value)) as ConfigMap;
}

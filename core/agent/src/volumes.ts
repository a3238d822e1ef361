/**
 * Turning a pod's volumes into host directories the runtime mounts: hostPath as is, emptyDir as a
 * per-pod directory under the agent's data dir (removed with the pod), configMap as files written
 * from a ConfigMap the agent holds (from the pods directory or the cloud).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { DEFAULT_NAMESPACE, EdgeTwinError } from '@edgetwin/sdk';
import type { Container, Pod } from './pod-schema.js';
import type { MountSpec } from './runtime/types.js';

export type ConfigMapLookup = (namespace: string, name: string) => Record<string, string> | undefined;

export function podVolumeDir(volumesRoot: string, podKey: string): string {
  return join(volumesRoot, podKey.replace('/', '_'));
}

/** Prepares the pod's volumes on disk; returns the host directory of each by volume name. */
export function prepareVolumes(
  pod: Pod,
  podKey: string,
  volumesRoot: string,
  configMaps: ConfigMapLookup,
): Map<string, string> {
  const out = new Map<string, string>();
  const ns = pod.metadata.namespace ?? DEFAULT_NAMESPACE;
  for (const v of pod.spec.volumes ?? []) {
    if (v.hostPath) {
      if (v.hostPath.type === 'DirectoryOrCreate') mkdirSync(v.hostPath.path, { recursive: true });
      out.set(v.name, v.hostPath.path);
    } else if (v.emptyDir) {
      const dir = join(podVolumeDir(volumesRoot, podKey), 'empty', v.name);
      mkdirSync(dir, { recursive: true });
      out.set(v.name, dir);
    } else if (v.configMap) {
      const data = configMaps(ns, v.configMap.name);
      const dir = join(podVolumeDir(volumesRoot, podKey), 'configmap', v.name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (!data) {
        if (v.configMap.optional) {
          out.set(v.name, dir);
          continue;
        }
        throw new EdgeTwinError(
          'ET_NOT_FOUND',
          `ConfigMap ${ns}/${v.configMap.name} (volume "${v.name}") is not on this node; add it to the pods directory or apply it from the cloud`,
        );
      }
      const items: { key: string; path: string; mode?: number }[] =
        v.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        const value = data[item.key];
        if (value === undefined) {
          throw new EdgeTwinError('ET_NOT_FOUND', `ConfigMap ${ns}/${v.configMap.name} has no key "${item.key}"`);
        }
        const file = normalize(join(dir, item.path));
        if (!file.startsWith(dir + '/')) {
          throw new EdgeTwinError(
            'ET_CONFIG_INVALID',
            `volume "${v.name}": item path "${item.path}" leaves the volume`,
          );
        }
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, value, { mode: item.mode ?? v.configMap.defaultMode ?? 0o644 });
      }
      out.set(v.name, dir);
    }
    // projected kube-api-access-*: no API access from the edge; the mount is skipped.
  }
  return out;
}

export function containerMounts(container: Container, volumes: Map<string, string>): MountSpec[] {
  const mounts: MountSpec[] = [];
  for (const m of container.volumeMounts ?? []) {
    const hostPath = volumes.get(m.name);
    if (hostPath === undefined) continue;
    mounts.push({ hostPath, containerPath: m.mountPath, readOnly: m.readOnly ?? false });
  }
  return mounts;
}

export function removePodVolumes(volumesRoot: string, podKey: string): void {
  rmSync(podVolumeDir(volumesRoot, podKey), { recursive: true, force: true });
}

/** Kubernetes quantities: "128Mi" -> bytes, "500m" -> millicores. */
export function memoryBytes(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m?.[1]) throw new EdgeTwinError('ET_CONFIG_INVALID', `memory limit "${q}" is not a quantity like 128Mi`);
  const mult: Record<string, number> = {
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.round(Number(m[1]) * (m[2] ? (mult[m[2]] ?? 1) : 1));
}

export function cpuMilli(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return Math.round(q * 1000);
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(q.trim());
  if (!m?.[1]) throw new EdgeTwinError('ET_CONFIG_INVALID', `cpu limit "${q}" is not a quantity like 500m or 1`);
  return m[2] ? Math.round(Number(m[1])) : Math.round(Number(m[1]) * 1000);
}

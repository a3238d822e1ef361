/**
 * deploy/: every document of rbac.yaml and cloudcore.yaml is a valid Kubernetes object (checked
 * offline against @kubernetes/client-node's API models), and the pieces fit: the Deployment runs
 * the image .ci/images.sh builds, as a non-root user, with probes and resources; the Service
 * reaches its pods; RBAC binds the rules cloudcore needs to the account the Deployment uses.
 * (The CRDs are applied to a real API server in core/cloudcore/test/k8s/crd.test.ts.)
 */
// Manifests are free-form JSON; the first test checks their shape against the API models.
/* eslint-disable @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateManifest } from './helpers/k8s-schema.js';

const DEPLOY = resolve(fileURLToPath(import.meta.url), '../../../deploy');
const VERSION = (JSON.parse(readFileSync(resolve(DEPLOY, '../core/package.json'), 'utf8')) as { version: string })
  .version;

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}
function docs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(resolve(DEPLOY, file), 'utf8')).map((d) => d.toJS() as Obj);
}
const all = [...docs('rbac.yaml'), ...docs('cloudcore.yaml')];
/** Manifests are free-form JSON here; the schema test above checks their shape. */
type Json = ReturnType<typeof JSON.parse>;
const find = (kind: string, name: string): Json => all.find((d) => d.kind === kind && d.metadata.name === name);

describe('deploy/ manifests', () => {
  it('every document matches its Kubernetes API schema', () => {
    expect(all.map((d) => d.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'Namespace',
      'PersistentVolumeClaim',
      'Service',
      'ServiceAccount',
    ]);
    expect(all.flatMap(validateManifest)).toEqual([]);
  });

  it('the schema check catches a misspelled field and a wrong type', () => {
    const bad = structuredClone(find('Deployment', 'cloudcore'));
    bad.spec.replicaz = 2;
    bad.spec.template.spec.containers[0].ports[0].containerPort = '10000';
    expect(validateManifest(bad).sort()).toEqual([
      'Deployment: /spec/replicaz: unknown field in V1DeploymentSpec',
      'Deployment: /spec/template/spec/containers/0/ports/0/containerPort: expected a number',
    ]);
  });

  it('cloudcore runs the image .ci/images.sh builds, non-root, with probes and resources', () => {
    const dep = find('Deployment', 'cloudcore');
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    expect(c.image).toBe(`docker.io/edgetwin/cloudcore:${VERSION}`);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(c[probe]?.httpGet, probe).toMatchObject({ path: '/healthz', port: 'hub' });
    }
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.limits.memory).toEqual(expect.any(String));
    // the data dir it is told to use is the mounted volume
    const dataDir = c.args[c.args.indexOf('--data-dir') + 1];
    expect(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain(dataDir);
    expect(dep.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'cloudcore' });
  });

  it('the Service selects the pods and targets a port the container declares', () => {
    const svc = find('Service', 'cloudcore');
    const pod = find('Deployment', 'cloudcore').spec.template;
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(pod.metadata.labels[k]).toBe(v);
    const names = pod.spec.containers[0].ports.map((p: { name: string }) => p.name);
    for (const p of svc.spec.ports) expect(names).toContain(p.targetPort);
  });

  it("RBAC binds cloudcore's rules to the service account the Deployment uses", () => {
    const dep = find('Deployment', 'cloudcore');
    const binding = find('ClusterRoleBinding', 'edgetwin-cloudcore');
    expect(binding.subjects).toContainEqual({
      kind: 'ServiceAccount',
      name: dep.spec.template.spec.serviceAccountName,
      namespace: dep.metadata.namespace,
    });
    expect(find('ServiceAccount', dep.spec.template.spec.serviceAccountName)).toBeDefined();
    const rules = find('ClusterRole', binding.roleRef.name).rules as Array<{ resources: string[]; verbs: string[] }>;
    const can = (resource: string, verb: string) =>
      rules.some((r) => r.resources.includes(resource) && r.verbs.includes(verb));
    for (const [res, verb] of [
      ['devices', 'watch'],
      ['devicemodels', 'watch'],
      ['devices', 'patch'],
      ['devices/status', 'patch'],
    ]) {
      expect(can(res!, verb!), `${verb} ${res}`).toBe(true);
    }
  });
});

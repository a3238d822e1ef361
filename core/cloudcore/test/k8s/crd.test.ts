import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { deviceCrds } from '@edgetwin/cloudcore/k8s';
import { startKubeApiServer, type KubeTestCluster } from '@edgetwin/sdk/testing';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..', '..');
const crdFile = join(repo, 'deploy', 'crds.yaml');

describe('generated CRDs', () => {
  it('the committed deploy/crds.yaml equals what the generator makes from the sdk schemas', () => {
    const committed = parseAllDocuments(readFileSync(crdFile, 'utf8')).map((d) => d.toJS() as unknown);
    const { deviceModel, device } = deviceCrds();
    expect(committed).toEqual([deviceModel, device]);
  });

  it('the schemas carry no TypeBox leftovers a structural schema forbids', () => {
    const text = JSON.stringify(deviceCrds());
    for (const bad of ['"const"', '"anyOf"', '"patternProperties"', '"$id"', '"additionalProperties":true'])
      expect(text).not.toContain(bad);
    expect(text).toContain('"x-kubernetes-preserve-unknown-fields":true');
  });
});

interface Manifest {
  kind: string;
  rules: Array<{ resources: string[]; verbs: string[] }>;
  subjects: unknown[];
  spec: {
    replicas: number;
    strategy: { type: string };
    ports: Array<{ port: number }>;
    template: { spec: { containers: Array<{ args: string[]; volumeMounts: Array<{ mountPath: string }> }> } };
  };
}

describe('deploy manifests', () => {
  const docs = (file: string) =>
    parseAllDocuments(readFileSync(join(repo, 'deploy', file), 'utf8')).map((d) => d.toJS() as Manifest);

  it('the cloudcore ClusterRole allows what cloudcore calls: devices, nodes, pods, configmaps, leases', () => {
    const role = docs('rbac.yaml').find((d) => d.kind === 'ClusterRole')!;
    const allowed = new Set<string>();
    for (const r of role.rules) for (const res of r.resources) for (const v of r.verbs) allowed.add(`${v} ${res}`);
    for (const need of [
      'list devices',
      'watch devices',
      'list devicemodels',
      'watch devicemodels',
      'get devices',
      'patch devices',
      'patch devices/status',
      'create nodes',
      'patch nodes/status',
      'watch pods',
      'patch pods/status',
      'delete pods',
      'watch configmaps',
      'update leases',
    ]) {
      expect(allowed).toContain(need);
    }
    expect(allowed).not.toContain('delete devices');
    const binding = docs('rbac.yaml').find((d) => d.kind === 'ClusterRoleBinding')!;
    expect(binding.subjects[0]).toEqual({ kind: 'ServiceAccount', name: 'cloudcore', namespace: 'edgetwin' });
  });

  it('the Deployment runs one cloudcore with its data dir on a volume and serves the port the Service exposes', () => {
    const all = docs('cloudcore.yaml');
    const dep = all.find((d) => d.kind === 'Deployment')!;
    const svc = all.find((d) => d.kind === 'Service')!;
    expect(dep.spec.replicas).toBe(1);
    expect(dep.spec.strategy.type).toBe('Recreate');
    const c = dep.spec.template.spec.containers[0]!;
    expect(c.args.slice(0, 3)).toEqual(['cloud', '--port', '10000']);
    expect(c.volumeMounts.map((m) => m.mountPath)).toContain(c.args[c.args.indexOf('--data-dir') + 1]);
    expect(svc.spec.ports[0]?.port).toBe(10000);
  });
});

describe('CRDs on a real API server', () => {
  let kube: KubeTestCluster | undefined;
  let skip: string | undefined;

  beforeAll(async () => {
    const k = await startKubeApiServer();
    if (typeof k === 'string') skip = k;
    else kube = k;
    if (!kube) return;
    await kube.kubectl(['apply', '-f', crdFile]);
    await kube.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/devices.devices.kubeedge.io',
      'crd/devicemodels.devices.kubeedge.io',
    ]);
  }, 360_000);

  afterAll(async () => {
    await kube?.stop();
  }, 60_000);

  it('the API server accepts both CRDs with a status subresource on Device', async ({ skip: skipTest }) => {
    if (!kube) return skipTest(skip ?? 'no cluster');
    const crd = JSON.parse(await kube.kubectl(['get', 'crd', 'devices.devices.kubeedge.io', '-o', 'json'])) as {
      spec: { versions: Array<{ name: string; subresources?: { status?: object } }> };
      status: { conditions: Array<{ type: string; status: string }> };
    };
    expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
    expect(crd.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    expect(crd.status.conditions.find((c) => c.type === 'NonStructuralSchema')).toBeUndefined();
  });

  it('existing KubeEdge v1beta1 YAML applies unchanged with kubectl, and keeps its desired strings and extra fields', async ({
    skip: skipTest,
  }) => {
    if (!kube) return skipTest(skip ?? 'no cluster');
    const out = await kube.kubectl(['apply', '-f', join(here, 'fixtures', 'kubeedge-modbus.yaml')]);
    expect(out).toContain('device.devices.kubeedge.io/modbus-thermometer-1 created');
    const dev = JSON.parse(await kube.kubectl(['get', 'device', 'modbus-thermometer-1', '-o', 'json'])) as {
      spec: { properties: Array<{ name: string; desired: { value: string }; pushMethod?: { dbMethod?: unknown } }> };
    };
    expect(dev.spec.properties[0]?.desired.value).toBe('30');
    expect(dev.spec.properties[1]?.desired.value).toBe('true');
    expect(dev.spec.properties[0]?.pushMethod?.dbMethod).toBeDefined();
    const table = await kube.kubectl(['get', 'devices']);
    expect(table).toMatch(/NAME\s+MODEL\s+NODE\s+STATE\s+AGE/);
    expect(table).toMatch(/modbus-thermometer-1\s+modbus-thermometer\s+edge-node-1/);
    expect(await kube.kubectl(['get', 'devicemodels'])).toMatch(/modbus-thermometer\s+modbus/);
  });

  it('a DeviceModel with an unknown property type is refused by the API server', async ({ skip: skipTest }) => {
    if (!kube) return skipTest(skip ?? 'no cluster');
    const bad = `apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: bad-model, namespace: default}
spec:
  properties: [{name: t, type: LONG}]
`;
    await expect(kube.kubectl(['apply', '-f', '-'], bad)).rejects.toThrow(/Unsupported value: "LONG"/);
  });
});

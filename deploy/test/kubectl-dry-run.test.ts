/**
 * `kubectl apply --dry-run=client` on every manifest in deploy/, with the real kubectl.
 *
 * kubectl needs an API server's discovery documents to map each document's apiVersion and kind to a
 * resource, and looks every object up before it "creates" it. No API server with the core, apps and
 * RBAC groups can run here (../shared/k8s serves CRDs only), so this test serves that boundary itself:
 * discovery for exactly the built-in resources the manifests use (names, kinds and scopes as Kubernetes
 * publishes them), and 404 for every object. kubectl then does its own work: parses the YAML, maps
 * kinds, checks namespaced vs cluster scope, and prints what it would create. Field schemas are checked
 * by core's deploy-manifests test against @kubernetes/client-node's API models (kubectl's own schema
 * check needs the server's OpenAPI documents, so it runs with --validate=false here).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const deployDir = fileURLToPath(new URL('..', import.meta.url));

interface Resource {
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
}
const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
/** The built-in resources deploy/ uses, as Kubernetes' discovery names them. */
const groups: Record<string, Resource[]> = {
  v1: [
    { name: 'namespaces', singularName: 'namespace', kind: 'Namespace', namespaced: false },
    { name: 'serviceaccounts', singularName: 'serviceaccount', kind: 'ServiceAccount', namespaced: true },
    { name: 'services', singularName: 'service', kind: 'Service', namespaced: true },
    { name: 'secrets', singularName: 'secret', kind: 'Secret', namespaced: true },
    {
      name: 'persistentvolumeclaims',
      singularName: 'persistentvolumeclaim',
      kind: 'PersistentVolumeClaim',
      namespaced: true,
    },
  ],
  'apps/v1': [{ name: 'deployments', singularName: 'deployment', kind: 'Deployment', namespaced: true }],
  'rbac.authorization.k8s.io/v1': [
    { name: 'clusterroles', singularName: 'clusterrole', kind: 'ClusterRole', namespaced: false },
    { name: 'clusterrolebindings', singularName: 'clusterrolebinding', kind: 'ClusterRoleBinding', namespaced: false },
    { name: 'roles', singularName: 'role', kind: 'Role', namespaced: true },
    { name: 'rolebindings', singularName: 'rolebinding', kind: 'RoleBinding', namespaced: true },
  ],
  'apiextensions.k8s.io/v1': [
    {
      name: 'customresourcedefinitions',
      singularName: 'customresourcedefinition',
      kind: 'CustomResourceDefinition',
      namespaced: false,
    },
  ],
};

let server: Server;
let work: string;
let kubeconfig: string;
const requests: string[] = [];

function discovery(path: string): unknown {
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') {
    const named = Object.keys(groups).filter((gv) => gv.includes('/'));
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: named.map((gv) => {
        const [group, version] = gv.split('/') as [string, string];
        const v = { groupVersion: gv, version };
        return { name: group, versions: [v], preferredVersion: v };
      }),
    };
  }
  const gv = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : undefined;
  const resources = gv === undefined ? undefined : groups[gv];
  if (!resources) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv,
    resources: resources.map((r) => ({ ...r, verbs })),
  };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'edgetwin-kubectl-'));
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push(`${req.method} ${path}`);
    const doc = req.method === 'GET' ? discovery(path) : undefined;
    if (doc !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
      return;
    }
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: `${path} not found`,
    };
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(status));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: k, cluster: {server: "http://127.0.0.1:' + port + '"}}]',
      'contexts: [{name: k, context: {cluster: k, user: u}}]',
      'users: [{name: u, user: {token: test}}]',
      'current-context: k',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(work, { recursive: true, force: true });
});

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const all = ['--kubeconfig', kubeconfig, '--cache-dir', join(work, 'cache'), ...args];
  return new Promise((resolve) => {
    execFile('kubectl', all, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('kubectl apply --dry-run=client on deploy/', () => {
  it('maps and would create every document of crds.yaml, rbac.yaml and cloudcore.yaml, writing nothing', async () => {
    const files = ['crds.yaml', 'rbac.yaml', 'cloudcore.yaml'].flatMap((f) => ['-f', join(deployDir, f)]);
    const r = await kubectl(['apply', '--dry-run=client', '--validate=false', ...files]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(
      [
        'customresourcedefinition.apiextensions.k8s.io/devicemodels.devices.kubeedge.io created (dry run)',
        'customresourcedefinition.apiextensions.k8s.io/devices.devices.kubeedge.io created (dry run)',
        'namespace/edgetwin created (dry run)',
        'serviceaccount/cloudcore created (dry run)',
        'clusterrole.rbac.authorization.k8s.io/edgetwin-cloudcore created (dry run)',
        'clusterrolebinding.rbac.authorization.k8s.io/edgetwin-cloudcore created (dry run)',
        'persistentvolumeclaim/cloudcore-data created (dry run)',
        'deployment.apps/cloudcore created (dry run)',
        'service/cloudcore created (dry run)',
      ].sort(),
    );
    // kubectl looked each object up where its scope puts it, and sent no write
    expect(requests).toContain('GET /apis/apps/v1/namespaces/edgetwin/deployments/cloudcore');
    expect(requests).toContain('GET /api/v1/namespaces/edgetwin/services/cloudcore');
    expect(requests).toContain('GET /apis/rbac.authorization.k8s.io/v1/clusterroles/edgetwin-cloudcore');
    expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([]);
  });

  it('refuses a document whose kind is not served at its apiVersion (the control: kubectl does check)', async () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: x, namespace: edgetwin}\n');
    const r = await kubectl(['apply', '--dry-run=client', '--validate=false', '-f', bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no matches for kind "Deployment" in version "apps\/v1beta2"/);
  });
});

/** Shared pieces of the cloud tests: a real API server with the CRDs, cloudcore, and edges. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { CloudCore, type CloudCoreOptions } from '@edgetwin/cloudcore';
import { EdgeCloudSync } from '@edgetwin/edgecore';
import { openTwinStore, TwinService, type TwinStore } from '@edgetwin/device-twin';
import { startKubeApiServer, waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';

export const repoRoot = join(import.meta.dirname, '..', '..', '..');
export const logger = pino({ level: process.env.EDGETWIN_TEST_LOG ?? 'silent' });

const dirs: string[] = [];
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `edgetwin-${prefix}-`));
  dirs.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Starts the API server and installs the CRDs; a string is the reason to skip. */
export async function startCluster(): Promise<KubeTestCluster | string> {
  const kube = await startKubeApiServer();
  if (typeof kube === 'string') return kube;
  await kube.kubectl(['apply', '-f', join(repoRoot, 'deploy', 'crds.yaml')]);
  await kube.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/devices.devices.kubeedge.io',
    'crd/devicemodels.devices.kubeedge.io',
  ]);
  return kube;
}

export async function startCloud(
  opts: Partial<CloudCoreOptions> & { kubeconfig: string; dataDir: string },
): Promise<CloudCore> {
  const cloud = new CloudCore({ port: 0, host: '127.0.0.1', keepaliveMs: 2000, logger, ...opts });
  await cloud.start();
  return cloud;
}

export interface TestEdge {
  node: string;
  dataDir: string;
  twin: TwinService;
  store: TwinStore;
  sync: EdgeCloudSync;
  /** The protocols EdgeCloudSync last reported for this node's devices. */
  protocols: Set<string>;
  stop(): Promise<void>;
}

/** An edge node as edgecore composes it: SQLite twin store, TwinService, EdgeCloudSync. */
export async function startEdge(opts: {
  node: string;
  cloudUrl: string;
  token?: string;
  dataDir?: string;
  ca?: string;
  keepaliveMs?: number;
}): Promise<TestEdge> {
  const dataDir = opts.dataDir ?? tempDir(`edge-${opts.node}`);
  const store = openTwinStore({ file: join(dataDir, 'twin.db') });
  const twin = new TwinService({ store, logger, nodeName: opts.node });
  await twin.start();
  const sync = new EdgeCloudSync({
    twin,
    dataDir,
    cloudUrl: opts.cloudUrl,
    nodeName: opts.node,
    keepaliveMs: opts.keepaliveMs ?? 2000,
    logger,
    onProtocols: (p) => (edge.protocols = p),
    ...(opts.token ? { token: opts.token } : {}),
    ...(opts.ca ? { ca: opts.ca } : {}),
  });
  const edge: TestEdge = {
    node: opts.node,
    dataDir,
    twin,
    store,
    sync,
    protocols: new Set(),
    async stop() {
      await edge.sync.stop();
      await twin.stop();
      store.close();
    },
  };
  await sync.start();
  return edge;
}

export function modelYaml(name: string, ns = 'default'): string {
  return `apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: ${name}, namespace: ${ns}}
spec:
  protocol: modbus
  properties:
    - {name: temperature, type: INT, accessMode: ReadWrite, minimum: "0", maximum: "200"}
    - {name: enabled, type: BOOLEAN, accessMode: ReadWrite}
    - {name: humidity, type: FLOAT, accessMode: ReadOnly}
`;
}

export function deviceYaml(name: string, node: string, model: string, temperature = '30', ns = 'default'): string {
  return `apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: ${name}, namespace: ${ns}}
spec:
  deviceModelRef: {name: ${model}}
  nodeName: ${node}
  protocol: {protocolName: modbus, configData: {host: 127.0.0.1, port: 5020}}
  properties:
    - name: temperature
      desired: {value: "${temperature}"}
      visitors: {protocolName: modbus, configData: {register: HoldingRegister, offset: 0}}
    - name: enabled
      desired: {value: "true"}
    - name: humidity
`;
}

interface DeviceJson {
  spec: { nodeName?: string; properties: Array<{ name: string; desired?: { value: string } }> };
  status?: { state?: string; twins?: Array<{ propertyName: string; reported?: { value: string } }> };
}

export async function getDevice(kube: KubeTestCluster, name: string, ns = 'default'): Promise<DeviceJson> {
  return JSON.parse(await kube.kubectl(['get', 'device', '-n', ns, name, '-o', 'json'])) as DeviceJson;
}

export function specDesired(d: DeviceJson, prop: string): string | undefined {
  return d.spec.properties.find((p) => p.name === prop)?.desired?.value;
}

export function statusReported(d: DeviceJson, prop: string): string | undefined {
  return d.status?.twins?.find((t) => t.propertyName === prop)?.reported?.value;
}

/** Replaces one property's desired value in the spec, as a user would with kubectl. */
export async function kubectlSetDesired(
  kube: KubeTestCluster,
  name: string,
  index: number,
  value: string,
): Promise<void> {
  await kube.kubectl([
    'patch',
    'device',
    name,
    '--type',
    'json',
    '-p',
    JSON.stringify([{ op: 'replace', path: `/spec/properties/${index}/desired/value`, value }]),
  ]);
}

export async function waitForDesired(
  edge: TestEdge,
  id: string,
  prop: string,
  value: unknown,
  timeoutMs = 20_000,
): Promise<void> {
  await waitFor(
    () => edge.twin.getTwin(id)?.desired[prop]?.value === value,
    timeoutMs,
    `${edge.node}: desired ${id}.${prop} = ${String(value)}`,
  );
}

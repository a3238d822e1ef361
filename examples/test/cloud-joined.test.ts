/**
 * Cloud-joined mode end to end, with the commands a user runs: `edgetwin cloud` against a real
 * Kubernetes API server (CRDs), `edgetwin cloud token create --node`, `edgetwin edge --cloud ... --token-file`
 * with its supervised Modbus mapper, and kubectl. A Device applied with kubectl reaches the edge
 * twin and its mapper; a desired value edited in Kubernetes reaches the register; reported values
 * reach the Device status.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSimulator, type ModbusSimulator } from '@edgetwin/mapper-modbus/sim';
import { freePort, startKubeApiServer, waitFor, type KubeTestCluster } from '@edgetwin/sdk/testing';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const CLI = join(root, 'core/bin/edgetwin.js');
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `edgetwin-e2e-${p}-`));

function device(modbusPort: number, setpoint: string): string {
  return `apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: boiler-model, namespace: default }
spec:
  protocol: modbus
  properties:
    - { name: setpoint, type: FLOAT, accessMode: ReadWrite, minimum: "5", maximum: "35" }
    - { name: temperature, type: FLOAT, accessMode: ReadOnly }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: boiler-1, namespace: default }
spec:
  deviceModelRef: { name: boiler-model }
  nodeName: e2e-node
  protocol:
    protocolName: modbus
    configData: { communicateMode: TCP, ip: 127.0.0.1, port: ${modbusPort}, slaveID: 1 }
  properties:
    - name: setpoint
      desired: { value: "${setpoint}" }
      visitors: { protocolName: modbus, configData: { register: HoldingRegister, offset: 1, limit: 1, dataType: int16, scale: 0.1 } }
    - name: temperature
      visitors: { protocolName: modbus, configData: { register: HoldingRegister, offset: 0, limit: 1, dataType: int16, scale: 0.1 } }
`;
}

function daemon(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, EDGETWIN_LOG_LEVEL: 'info' },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('cloud-joined mode with a real mapper', () => {
  let kube: KubeTestCluster | string;
  let sim: ModbusSimulator;
  let cloud: ReturnType<typeof daemon> | undefined;
  let edge: ReturnType<typeof daemon> | undefined;
  let httpPort = 0;
  let modbusPort = 0;
  const twinUrl = () => `http://127.0.0.1:${httpPort}/api/v1/devices/default/boiler-1/twin`;
  const twin = async () =>
    (await (await fetch(twinUrl())).json()) as {
      reported: Record<string, { value: unknown }>;
      desired: Record<string, { value: unknown }>;
    };

  beforeAll(async () => {
    kube = await startKubeApiServer();
    if (typeof kube === 'string') return;
    await kube.kubectl(['apply', '-f', join(root, 'deploy/crds.yaml')]);
    await kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/devices.devices.kubeedge.io']);
    sim = await startModbusSimulator(
      {
        slaves: [
          {
            id: 1,
            holdingRegisters: [
              { address: 0, name: 'temperature', type: 'int16', scale: 0.1, value: 20 },
              { address: 1, name: 'setpoint', type: 'int16', scale: 0.1, value: 18 },
            ],
          },
        ],
      },
      { port: 0 },
    );
    modbusPort = sim.port!;
    const cloudDir = tmp('cloud');
    const cloudPort = await freePort();
    cloud = daemon([
      'cloud',
      '--kubeconfig',
      kube.kubeconfig,
      '--port',
      String(cloudPort),
      '--host',
      '127.0.0.1',
      '--data-dir',
      cloudDir,
    ]);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${cloudPort}/healthz`).catch(() => undefined))?.ok,
      30_000,
      'cloudcore',
    );
    const token = (
      await run(process.execPath, [CLI, 'cloud', 'token', 'create', '--node', 'e2e-node', '--data-dir', cloudDir])
    ).stdout.trim();
    expect(token).toMatch(/^\S+$/);
    const tokenFile = join(tmp('token'), 'join-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    httpPort = await freePort();
    edge = daemon([
      'edge',
      '--cloud',
      `http://127.0.0.1:${cloudPort}`,
      '--token-file',
      tokenFile,
      '--node-name',
      'e2e-node',
      '--data-dir',
      tmp('edge'),
      '--http-port',
      String(httpPort),
      '--mqtt-port',
      String(await freePort()),
    ]);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.ok,
      30_000,
      'edgecore',
    );
  }, 300_000);

  afterAll(async () => {
    await stop(edge?.child);
    await stop(cloud?.child);
    await sim?.stop();
    if (typeof kube === 'object') await kube.stop();
  });

  it('a Device applied with kubectl reaches the edge twin, and its mapper reports the registers', async ({ skip }) => {
    if (typeof kube === 'string') return skip(kube);
    await kube.kubectl(['apply', '-f', '-'], device(modbusPort, '21.5'));
    const t = await waitFor(
      async () => {
        const x = await twin().catch(() => undefined);
        return x?.reported.temperature !== undefined && x.reported.setpoint?.value === 21.5 ? x : undefined;
      },
      60_000,
      `the mapper to report (edge output:\n${edge?.output().slice(-2000)})`,
    );
    expect(t.reported.temperature?.value).toBe(20);
    // The spec's desired value was written to the device by the mapper.
    expect(sim.slave(1).getValue('setpoint')).toBe(21.5);
  });

  it('a desired value edited in Kubernetes reaches the register, and the reported value reaches Device status', async ({
    skip,
  }) => {
    if (typeof kube === 'string') return skip(kube);
    await kube.kubectl([
      'patch',
      'device',
      'boiler-1',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/properties/0/desired/value","value":"24.5"}]',
    ]);
    await waitFor(() => sim.slave(1).getValue('setpoint') === 24.5, 30_000, 'the register to follow Kubernetes');
    await waitFor(
      async () => {
        const dev = JSON.parse(await kube_(kube).kubectl(['get', 'device', 'boiler-1', '-o', 'json'])) as {
          status?: { twins?: { propertyName: string; reported?: { value: string } }[] };
        };
        return dev.status?.twins?.find((x) => x.propertyName === 'setpoint')?.reported?.value === '24.5';
      },
      30_000,
      'Device status to show the reported setpoint',
    );
  });

  it('a desired value set through the edge HTTP API is written to the Device spec in Kubernetes', async ({ skip }) => {
    if (typeof kube === 'string') return skip(kube);
    const res = await fetch(`${twinUrl()}/desired`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ setpoint: 19 }),
    });
    expect(res.status).toBe(200);
    await waitFor(() => sim.slave(1).getValue('setpoint') === 19, 30_000, 'the register to follow the edge');
    await waitFor(
      async () =>
        (
          await kube_(kube).kubectl(['get', 'device', 'boiler-1', '-o', 'jsonpath={.spec.properties[0].desired.value}'])
        ).trim() === '19',
      30_000,
      'the Device spec to carry the edge desired value',
    );
  });
});

function kube_(k: KubeTestCluster | string): KubeTestCluster {
  if (typeof k === 'string') throw new Error(k);
  return k;
}

/**
 * KubeEdge's own published v1beta1 samples (vendored unchanged in examples/kubeedge-samples, sources
 * in its README) as a KubeEdge user brings them: loaded by edgecore in embedded mode, applied to the
 * CRDs on the real Kubernetes CRD API server, and KubeEdge's Modbus temperature sample read from an
 * independent Modbus slave (Debian's pymodbus) through edgecore and its supervised Modbus mapper.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadDeviceDirectory } from '@edgetwin/edgecore';
import { MAX_CYCLE_MS, toMapperDevice } from '@edgetwin/sdk/mapper';
import { freePort, startKubeApiServer, stopProcess, waitFor } from '@edgetwin/sdk/testing';
import { modbusMapper } from '@edgetwin/mapper-modbus';
import { missingPymodbus, startPymodbusTcp, type PySlave } from '../../mappers/modbus/test/helpers/peers.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const SAMPLES = join(root, 'examples/kubeedge-samples');
const CLI = join(root, 'core/bin/edgetwin.js');

/** Every sample folder (a model and its devices), with the node its Device names. */
const folders = readdirSync(SAMPLES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(join(SAMPLES, d.name)).map((sub) => join(d.name, sub)));

function docs(folder: string): { kind: string; spec?: { nodeName?: string } }[] {
  return readdirSync(join(SAMPLES, folder))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => parse(readFileSync(join(SAMPLES, folder, f), 'utf8')) as { kind: string });
}
const nodeOf = (folder: string) => docs(folder).find((d) => d.kind === 'Device')?.spec?.nodeName ?? 'edge-1';

describe("KubeEdge's published v1beta1 samples", () => {
  it('are all here: KubeEdge examples, mappers-go and the KubeEdge website', () => {
    expect(folders.sort()).toEqual([
      'kubeedge-examples/new-counter-demo',
      'kubeedge-examples/sound-equipment-fault-detection',
      'kubeedge-examples/temperature-sensor-demo',
      'mappers-go/onvif-mapper',
      'website/device-crds',
    ]);
  });

  it.each(folders)('%s loads in embedded mode without edits and without problems', async (folder) => {
    const c = await loadDeviceDirectory(join(SAMPLES, folder), nodeOf(folder));
    expect(c.problems.map((p) => p.error.message)).toEqual([]);
    expect(c.models).toHaveLength(1);
    expect(c.devices).toHaveLength(1);
    const dev = c.devices[0]!;
    expect(dev.properties.map((p) => p.name).sort()).toEqual(c.models[0]!.spec.properties.map((p) => p.name).sort());
  });

  it("keeps the ONVIF model's STREAM properties and the counter's comment-only configData", async () => {
    const onvif = await loadDeviceDirectory(join(SAMPLES, 'mappers-go/onvif-mapper'), 'edge-node');
    const types = Object.fromEntries(onvif.devices[0]!.properties.map((p) => [p.name, p.model.type]));
    expect(types).toEqual({ getURI: 'STRING', saveFrame: 'STREAM', saveVideo: 'STREAM' });
    const counter = await loadDeviceDirectory(join(SAMPLES, 'kubeedge-examples/new-counter-demo'), 'kind-worker');
    expect(counter.devices[0]!.protocolConfig).toEqual({});
  });

  it("reads the Modbus samples' configData as KubeEdge does (port as a string; cycles of KubeEdge's website)", async () => {
    const temp = await loadDeviceDirectory(join(SAMPLES, 'kubeedge-examples/temperature-sensor-demo'), 'kind-worker');
    const web = await loadDeviceDirectory(join(SAMPLES, 'website/device-crds'), 'worker-node1');
    const asMapper = (c: typeof temp) => {
      const r = c.devices[0]!;
      return toMapperDevice(modbusMapper, { device: r.device, model: r.model });
    };
    const t = asMapper(temp);
    expect(t.protocol).toMatchObject({ communicateMode: 'TCP', port: 5502, slaveID: 1 });
    expect(t.properties.find((p) => p.name === 'temperature')!.visitor).toMatchObject({ limit: 1, scale: 0.1 });
    // collectCycle: 10000000000 ms (the website's sample) would overflow a Node.js timer into a 1 ms loop
    const w = asMapper(web);
    expect(w.properties[0]!.collectCycle).toBe(MAX_CYCLE_MS);
  });
});

describe('applied to the CRDs on the real Kubernetes CRD API server', () => {
  let kube: Awaited<ReturnType<typeof startKubeApiServer>>;

  beforeAll(async () => {
    kube = await startKubeApiServer();
    if (typeof kube === 'string') return;
    await kube.kubectl(['apply', '-f', join(root, 'deploy/crds.yaml')]);
    await kube.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/devices.devices.kubeedge.io']);
    await kube.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/devicemodels.devices.kubeedge.io',
    ]);
  }, 300_000);

  afterAll(async () => {
    if (kube && typeof kube !== 'string') await kube.stop();
  });

  it('every sample is accepted by kubectl apply and stored as a Device or DeviceModel', async (ctx) => {
    if (typeof kube === 'string') return ctx.skip();
    for (const folder of folders) {
      const out = await kube.kubectl(['apply', '-n', 'default', '-f', join(SAMPLES, folder)]);
      expect(out).toMatch(/created|configured/);
    }
    const devices = JSON.parse(await kube.kubectl(['get', 'devices', '-n', 'default', '-o', 'json'])) as {
      items: { metadata: { name: string }; spec: { protocol?: { configData?: unknown } } }[];
    };
    expect(devices.items.map((d) => d.metadata.name).sort()).toEqual([
      'beta1-device',
      'counter-instance',
      'onvif-device-01',
      'temperature-instance',
      'vled-instance-01',
    ]);
    const models = JSON.parse(await kube.kubectl(['get', 'devicemodels', '-n', 'default', '-o', 'json'])) as {
      items: { spec: { properties: { type: string }[] } }[];
    };
    expect(models.items.flatMap((m) => m.spec.properties.map((p) => p.type))).toContain('STREAM');
  });
});

const noPeers = missingPymodbus('mbpoll');

describe.skipIf(noPeers)("KubeEdge's Modbus temperature sample against pymodbus, through edgecore", () => {
  let slave: PySlave;
  let edge: ChildProcess | undefined;
  let logs = '';
  let http = '';
  let port = 0;
  type Twin = { reported: Record<string, { value: unknown }>; desired: Record<string, { value: unknown }> };
  const twin = async () =>
    (await (await fetch(`${http}/api/v1/devices/default/temperature-instance/twin`)).json()) as Twin;

  beforeAll(async () => {
    // holding register 0 holds 215 (21.5 degrees in tenths), coil 0 is off
    slave = await startPymodbusTcp({
      1: [
        { table: 'hr', address: 0, type: 'uint16', value: 215 },
        { table: 'co', address: 0, value: false },
      ],
    });
    port = slave.port!;
    // The sample's own instructions: "replace the ip/port with your modbus device", "replace the nodeName".
    const devices = mkdtempSync(join(tmpdir(), 'edgetwin-kesample-'));
    cpSync(join(SAMPLES, 'kubeedge-examples/temperature-sensor-demo'), devices, { recursive: true });
    const file = join(devices, 'temperature-instance.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('"10.244.1.13"', '"127.0.0.1"')
        .replace('"5502"', `"${port}"`)
        .replace('"kind-worker"', '"edge-1"'),
    );
    const httpPort = await freePort();
    http = `http://127.0.0.1:${httpPort}`;
    const args = [CLI, 'edge', '--devices', devices, '--data-dir', mkdtempSync(join(tmpdir(), 'edgetwin-data-'))];
    args.push('--node-name', 'edge-1', '--http-port', String(httpPort), '--mqtt-port', String(await freePort()));
    edge = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    edge.stdout!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000)));
    edge.stderr!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000)));
  }, 60_000);

  afterAll(async () => {
    if (edge) await stopProcess(edge);
    await slave?.stop();
  });

  it('reports 21.5 for a register holding 215 (one 16-bit register times scale 0.1)', async () => {
    await waitFor(
      async () => (await twin().catch(() => undefined))?.reported.temperature?.value === 21.5,
      60_000,
      'temperature 21.5 in the twin',
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; edgecore said:\n${logs}`);
    });
  });

  it('writes the desired temperature-switch "1" to coil 0 of the slave (read back with mbpoll)', async () => {
    await waitFor(async () => (await twin()).reported['temperature-switch']?.value === 1, 30_000, 'switch on');
    const { stdout } = await run(
      'mbpoll',
      ['-m', 'tcp', '-p', String(port), '-a', '1', '-t', '0', '-r', '1', '-c', '1', '-1', '127.0.0.1'],
      {
        timeout: 10_000,
      },
    );
    expect(stdout).toMatch(/\[1\]:\s+1/);
  });
});

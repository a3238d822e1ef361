/**
 * KubeEdge's DMI v1beta1 served by edgecore:
 * - the sdk's DMI conformance suite (`dmiConformance`), run against edgecore as a child process: a
 *   mapper process that speaks only the DMI proto (`@edgetwin/sdk/peers/dmi-mapper.mjs`:
 *   @grpc/grpc-js and the .proto, no EdgeTwin code) registers, reports, gets desired values, is
 *   refused as a second mapper of its protocol, and outlives an edgecore restart;
 * - KubeEdge's own Modbus temperature sample as the devices directory, as that mapper receives it;
 * - the socket's permissions, and how DMI registration and edgecore's mapper supervisor meet.
 */
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { EdgeCore, type EdgeCoreOptions } from '@edgetwin/edgecore';
import { DmiPeerMapper, dmiConformance, waitFor } from '@edgetwin/sdk/testing';
import { startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';

const SAMPLE = resolve(
  import.meta.dirname,
  '../../../examples/kubeedge-samples/kubeedge-examples/temperature-sensor-demo',
);

dmiConformance({
  async startEdge({ devicesDir, dataDir, nodeName }) {
    const edge = await startEdgecore({ devicesDir, dataDir, nodeName });
    return {
      dmiSocket: join(dataDir, 'dmi', 'dmi.sock'),
      http: edge.http,
      async stop() {
        await edge.kill();
      },
    };
  },
});

describe("DMI in edgecore with KubeEdge's Modbus temperature sample", () => {
  let edge: EdgecoreProcess;
  let mapper: DmiPeerMapper;
  const dataDir = tempDir('dmi-data');
  const socket = join(dataDir, 'dmi', 'dmi.sock');
  const devicesDir = tempDir('dmi-devices');
  const twin = async () =>
    (await (await fetch(`${edge.http}/api/v1/devices/default/temperature-instance/twin`)).json()) as {
      reported: Record<string, { value: unknown }>;
      state: string;
    };

  beforeAll(async () => {
    cpSync(SAMPLE, devicesDir, { recursive: true });
    const file = join(devicesDir, 'temperature-instance.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"kind-worker"', '"edge-1"'));
    edge = await startEdgecore({ devicesDir, dataDir });
    mapper = DmiPeerMapper.start(socket, join(tempDir('dmi-mapper'), 'mapper.sock'));
  });

  afterAll(async () => {
    await mapper?.stop();
    await edge?.kill();
  });

  it('serves the socket with mode 0660 in a directory only the edge user and group can enter', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    expect(statSync(dirname(socket)).mode & 0o777).toBe(0o750);
  });

  it('a mapper started after its devices gets them at registration, configData packed as KubeEdge packs it', async () => {
    const reg = await mapper.answer('register', 0);
    expect(reg.ok).toBe(true);
    expect(reg.models).toEqual(['temperature-model']);
    const dev = reg.devices![0]!;
    expect(dev).toMatchObject({ name: 'temperature-instance', namespace: 'default', protocol: { name: 'modbus' } });
    expect(dev.protocol.config).toMatchObject({
      communicateMode: { type: 'StringValue', value: 'TCP' },
      port: { type: 'StringValue', value: '5502' },
      slaveID: { type: 'Int64Value', value: 1 },
    });
    const temp = dev.properties.find((p) => p.name === 'temperature')!;
    expect(temp.visitor.scale?.type).toBe('FloatValue');
    expect(temp.visitor.scale?.value).toBeCloseTo(0.1, 6);
    expect(temp.visitor.limit).toEqual({ type: 'Int64Value', value: 1 });
    expect(temp.visitor.isSwap).toEqual({ type: 'BoolValue', value: false });
    expect(dev.properties.find((p) => p.name === 'temperature-switch')!.desired).toBe('1');
  });

  it('reported twins and states reach the twin (mapper-framework sends "OK")', async () => {
    let from = mapper.lines.length;
    mapper.reportTwins('default', 'temperature-instance', [
      { propertyName: 'temperature', reported: { value: '21.5', metadata: { type: 'float' } } },
    ]);
    expect((await mapper.answer('status', from)).ok).toBe(true);
    from = mapper.lines.length;
    mapper.reportState('default', 'temperature-instance', 'OK');
    expect((await mapper.answer('state', from)).ok).toBe(true);
    const t = await twin();
    expect(t.reported.temperature?.value).toBe(21.5);
    expect(t.state).toBe('ok');
  });

  it('a value the model type refuses is named in the gRPC status', async () => {
    const from = mapper.lines.length;
    mapper.reportTwins('default', 'temperature-instance', [
      { propertyName: 'temperature', reported: { value: 'hot', metadata: {} } },
    ]);
    const bad = await mapper.answer('status', from);
    expect(bad.error).toBe('INVALID_ARGUMENT');
    expect(bad.details).toMatch(/ET_BAD_VALUE.*expected a number/);
  });
});

describe('DMI and the mapper supervisor', () => {
  /** edgecore in-process with KubeEdge's sample (protocol modbus) and a stand-in for its own modbus mapper. */
  async function edgeWithOwnModbusMapper(extra: Partial<EdgeCoreOptions>) {
    const devicesDir = tempDir('dmi-sup-devices');
    cpSync(SAMPLE, devicesDir, { recursive: true });
    const file = join(devicesDir, 'temperature-instance.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"kind-worker"', '"edge-1"'));
    const scripts = tempDir('dmi-sup-mapper');
    const script = join(scripts, 'our-modbus-mapper.cjs');
    writeFileSync(script, "setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0));");
    const dataDir = tempDir('dmi-sup-data');
    const core = new EdgeCore({
      devicesDir,
      dataDir,
      nodeName: 'edge-1',
      logger: pino({ level: 'silent' }),
      mqttPort: 0,
      httpPort: 0,
      mapperCommands: { modbus: { command: process.execPath, args: [script] } },
      mapperStdio: 'ignore',
      ...extra,
    });
    await core.start();
    const mappers = async () =>
      (
        (await (await fetch(`${core.httpUrl}/api/v1/node`)).json()) as {
          mappers: { protocol: string; state: string }[];
        }
      ).mappers;
    const ours = async () => (await mappers()).some((m) => m.protocol === 'modbus' && m.state === 'running');
    return { core, dataDir, scripts, mappers, ours };
  }

  it("a mapper without a token cannot take over a protocol whose mapper edgecore runs: PERMISSION_DENIED, edgecore's own keeps running", async () => {
    const { core, dataDir, scripts, ours } = await edgeWithOwnModbusMapper({});
    let mapper: DmiPeerMapper | undefined;
    try {
      await waitFor(ours, 20_000, "edgecore's own modbus mapper to run");
      mapper = DmiPeerMapper.start(join(dataDir, 'dmi', 'dmi.sock'), join(scripts, 'dmi.sock'));
      const reg = await mapper.answer('register', 0);
      expect(reg.error).toBe('PERMISSION_DENIED');
      expect(reg.details).toMatch(/edgecore runs the "modbus" mapper itself.*--external-mapper modbus/);
      expect(core.dmi!.links.has('modbus')).toBe(false);
      expect(await ours()).toBe(true);
    } finally {
      await mapper?.stop();
      await core.stop();
    }
  });

  it('with --external-mapper modbus edgecore starts no modbus mapper, and a KubeEdge mapper without a token serves modbus', async () => {
    const { core, dataDir, scripts, mappers } = await edgeWithOwnModbusMapper({ externalMappers: ['modbus'] });
    let mapper: DmiPeerMapper | undefined;
    try {
      mapper = DmiPeerMapper.start(join(dataDir, 'dmi', 'dmi.sock'), join(scripts, 'dmi.sock'));
      const reg = await mapper.answer('register', 0);
      expect(reg.ok).toBe(true);
      expect(reg.devices!.map((d) => d.name)).toEqual(['temperature-instance']);
      expect((await mappers()).filter((m) => m.protocol === 'modbus')).toEqual([]);
    } finally {
      await mapper?.stop();
      await core.stop();
    }
  });
});

/**
 * KubeEdge's DMI v1beta1 served by edgecore, driven by a mapper process that speaks only the DMI
 * proto (core/edgecore/test/fixtures/dmi-mapper.mjs: @grpc/grpc-js and the .proto, no EdgeTwin code), with
 * KubeEdge's Modbus temperature sample as the devices directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { EdgeCore } from '@edgetwin/edgecore';
import { waitFor } from '@edgetwin/sdk/testing';
import { startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';

const MAPPER = join(import.meta.dirname, 'fixtures', 'dmi-mapper.mjs');
const SAMPLE = resolve(
  import.meta.dirname,
  '../../../examples/kubeedge-samples/kubeedge-examples/temperature-sensor-demo',
);

interface Line {
  call?: string;
  op?: string;
  ok?: boolean;
  error?: string;
  details?: string;
  devices?: DeviceLine[];
  models?: string[];
  device?: DeviceLine;
}
interface DeviceLine {
  name: string;
  namespace: string;
  protocol: { name: string; config: Record<string, { type: string; value: unknown }> };
  properties: { name: string; desired?: string; visitor: Record<string, { type: string; value: unknown }> }[];
}

class DmiMapper {
  readonly lines: Line[] = [];
  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => this.lines.push(JSON.parse(l) as Line));
  }
  static start(edgecoreSocket: string, own: string, name = 'dmi-test-mapper'): DmiMapper {
    const child = spawn(process.execPath, [MAPPER, edgecoreSocket, own, 'modbus', name], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    return new DmiMapper(child);
  }
  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }
  async next(pred: (l: Line) => boolean, from = 0, what = 'a line'): Promise<Line> {
    let found: Line | undefined;
    await waitFor(() => (found = this.lines.slice(from).find(pred)) !== undefined, 20_000, what);
    return found!;
  }
  calls(name: string): Line[] {
    return this.lines.filter((l) => l.call === name);
  }
  stop(): void {
    this.child.kill('SIGTERM');
  }
}

describe('DMI (KubeEdge v1beta1) in edgecore', () => {
  let edge: EdgecoreProcess;
  let mapper: DmiMapper;
  const dataDir = tempDir('dmi-data');
  const socket = join(dataDir, 'dmi', 'dmi.sock');
  const devicesDir = tempDir('dmi-devices');
  const twin = async () =>
    (await (await fetch(`${edge.http}/api/v1/devices/default/temperature-instance/twin`)).json()) as {
      reported: Record<string, { value: unknown }>;
      state: string;
    };
  const patch = (body: unknown) =>
    fetch(`${edge.http}/api/v1/devices/default/temperature-instance/twin/desired`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    cpSync(SAMPLE, devicesDir, { recursive: true });
    const file = join(devicesDir, 'temperature-instance.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"kind-worker"', '"edge-1"'));
    edge = await startEdgecore({ devicesDir, dataDir });
    mapper = DmiMapper.start(socket, join(tempDir('dmi-mapper'), 'mapper.sock'));
  });

  afterAll(async () => {
    mapper?.stop();
    await edge?.kill();
  });

  it('serves the socket with mode 0660 in a directory only the edge user and group can enter', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    expect(statSync(dirname(socket)).mode & 0o777).toBe(0o750);
  });

  it('a mapper started after its devices gets them at registration, configData packed as KubeEdge packs it', async () => {
    const reg = await mapper.next((l) => l.op === 'register', 0, 'the registration');
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
    const from = mapper.lines.length;
    mapper.send({
      op: 'status',
      name: 'temperature-instance',
      namespace: 'default',
      twins: [{ propertyName: 'temperature', reported: { value: '21.5', metadata: { type: 'float' } } }],
    });
    expect((await mapper.next((l) => l.op === 'status', from)).ok).toBe(true);
    mapper.send({ op: 'state', name: 'temperature-instance', namespace: 'default', state: 'OK' });
    expect((await mapper.next((l) => l.op === 'state', from)).ok).toBe(true);
    const t = await twin();
    expect(t.reported.temperature?.value).toBe(21.5);
    expect(t.state).toBe('ok');
  });

  it('a bad report is refused with a gRPC status naming the problem', async () => {
    const from = mapper.lines.length;
    mapper.send({
      op: 'status',
      name: 'temperature-instance',
      namespace: 'default',
      twins: [{ propertyName: 'temperature', reported: { value: 'hot', metadata: {} } }],
    });
    const bad = await mapper.next((l) => l.op === 'status', from);
    expect(bad.error).toBe('INVALID_ARGUMENT');
    expect(bad.details).toMatch(/ET_BAD_VALUE.*expected a number/);
    mapper.send({
      op: 'status',
      name: 'ghost',
      namespace: 'default',
      twins: [{ propertyName: 'x', reported: { value: '1' } }],
    });
    expect((await mapper.next((l) => l.op === 'status' && l !== bad, from)).error).toBe('NOT_FOUND');
  });

  it('a desired value reaches the mapper through UpdateDevice, once, and a report sends none', async () => {
    expect(mapper.calls('UpdateDevice')).toHaveLength(0);
    expect((await patch({ 'temperature-switch': 0 })).status).toBe(200);
    const upd = await mapper.next((l) => l.call === 'UpdateDevice', 0, 'UpdateDevice');
    expect(upd.device!.properties.find((p) => p.name === 'temperature-switch')!.desired).toBe('0');
    // reports and the same desired value again change nothing the mapper holds
    mapper.send({
      op: 'status',
      name: 'temperature-instance',
      namespace: 'default',
      twins: [{ propertyName: 'temperature', reported: { value: '22', metadata: {} } }],
    });
    expect((await patch({ 'temperature-switch': 0 })).status).toBe(200);
    expect((await patch({ 'temperature-switch': 1 })).status).toBe(200);
    await waitFor(() => mapper.calls('UpdateDevice').length === 2, 20_000, 'the second UpdateDevice');
    expect(
      mapper.calls('UpdateDevice')[1]!.device!.properties.find((p) => p.name === 'temperature-switch')!.desired,
    ).toBe('1');
  });

  it('a second mapper for the same protocol is refused with a clear error while the first runs', async () => {
    const other = DmiMapper.start(socket, join(tempDir('dmi-mapper2'), 'm.sock'), 'intruder');
    try {
      const reg = await other.next((l) => l.op === 'register', 0, 'the refusal');
      expect(reg.error).toBe('ALREADY_EXISTS');
      expect(reg.details).toMatch(/a mapper for protocol "modbus" is already registered and running \(dmi-test-mapper/);
    } finally {
      other.stop();
    }
  });

  it('the registration survives an edgecore restart: desired values still reach the mapper', async () => {
    await edge.kill();
    edge = await startEdgecore({ devicesDir, dataDir });
    const before = mapper.calls('UpdateDevice').length;
    expect((await patch({ 'temperature-switch': 0 })).status).toBe(200);
    await waitFor(() => mapper.calls('UpdateDevice').length === before + 1, 20_000, 'UpdateDevice after the restart');
    expect(mapper.lines.filter((l) => l.op === 'register')).toHaveLength(1); // it never registered again
  });
});

describe('DMI and the mapper supervisor', () => {
  it("a protocol whose mapper registered over DMI gets no mapper process of edgecore's", async () => {
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
    });
    await core.start();
    const ours = async () => {
      const node = (await (await fetch(`${core.httpUrl}/api/v1/node`)).json()) as {
        mappers: { protocol: string; state: string }[];
      };
      return node.mappers.some((m) => m.protocol === 'modbus' && m.state === 'running');
    };
    let mapper: DmiMapper | undefined;
    try {
      await waitFor(ours, 20_000, "edgecore's own modbus mapper to run");
      mapper = DmiMapper.start(join(dataDir, 'dmi', 'dmi.sock'), join(scripts, 'dmi.sock'));
      expect((await mapper.next((l) => l.op === 'register', 0, 'the registration')).ok).toBe(true);
      await waitFor(async () => !(await ours()), 20_000, "edgecore's own modbus mapper to stop");
    } finally {
      mapper?.stop();
      await core.stop();
    }
  });
});

/**
 * `dmiConformance(options)`: the edgecore side of KubeEdge's DMI v1beta1, checked from outside. A
 * mapper process that speaks only the DMI proto (`DmiPeerMapper`, no EdgeTwin code in it) registers
 * with the edgecore under test and the suite checks what a mapper-framework mapper depends on:
 * - it gets its devices and models at registration, also when it starts after them;
 * - reported twins and states reach the twin; a bad report is refused with a gRPC status that says why;
 * - a desired value reaches it through UpdateDevice, once, and reports cause no UpdateDevice;
 * - a second mapper of the same protocol is refused while the first runs;
 * - its registration survives an edgecore restart;
 * - a mapper that stops and starts again registers again and gets its devices.
 * The edgecore is started by the caller (`startEdge`), on a devices directory the suite fills with a
 * DeviceModel and a Device in KubeEdge's v1beta1 layout, and read through its HTTP twin API.
 * This file imports vitest; it is only reachable from '@edgetwin/sdk/testing'.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmiPeerMapper } from './dmi-peer.js';
import { waitFor } from './ports.js';

/** Where the suite asks the edgecore under test to run. Starting again on the same directories is a restart. */
export interface DmiEdgeDirs {
  devicesDir: string;
  dataDir: string;
  nodeName: string;
}

/** A running edgecore as the suite needs it. */
export interface DmiEdgeUnderTest {
  /** Path of the unix socket its DeviceManagerService listens on. */
  dmiSocket: string;
  /** Base URL of its HTTP twin API, e.g. http://127.0.0.1:8080. */
  http: string;
  /** Headers every HTTP call carries (an Authorization header when the API needs one). */
  headers?: Record<string, string>;
  stop(): Promise<void>;
}

export interface DmiConformanceOptions {
  startEdge(dirs: DmiEdgeDirs): Promise<DmiEdgeUnderTest>;
  /** Node name the devices are placed on; default edge-1. */
  nodeName?: string;
  /** Per-condition wait, default 20 000 ms (the machine may be loaded). */
  timeoutMs?: number;
}

const NS = 'default';
const DEVICE = 'dmi-conformance-sensor';
const MODEL = 'dmi-conformance-model';

/** A Modbus temperature sensor in KubeEdge's v1beta1 layout, as KubeEdge's temperature sample writes it. */
function devicesYaml(nodeName: string): string {
  return `apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata:
  name: ${MODEL}
  namespace: ${NS}
spec:
  protocol: modbus
  properties:
    - name: temperature
      type: FLOAT
      accessMode: ReadOnly
      minimum: "0"
      maximum: "100.0"
      unit: Celsius
    - name: switch
      type: INT
      accessMode: ReadWrite
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: ${DEVICE}
  namespace: ${NS}
spec:
  deviceModelRef:
    name: ${MODEL}
  nodeName: "${nodeName}"
  protocol:
    protocolName: modbus
    configData:
      communicateMode: "TCP"
      ip: "127.0.0.1"
      port: "5502"
      slaveID: 1
  properties:
    - name: temperature
      collectCycle: 10000
      reportCycle: 10000
      reportToCloud: true
      visitors:
        protocolName: modbus
        configData:
          dataType: "float"
          register: "HoldingRegister"
          offset: 0
          limit: 1
          scale: 0.1
          isSwap: false
          isRegisterSwap: false
    - name: switch
      collectCycle: 10000
      desired:
        value: "1"
      visitors:
        protocolName: modbus
        configData:
          dataType: "int"
          register: "CoilRegister"
          offset: 0
          limit: 1
`;
}

interface TwinView {
  reported: Record<string, { value: unknown } | undefined>;
  desired: Record<string, { value: unknown } | undefined>;
  state: string;
}

export function dmiConformance(opts: DmiConformanceOptions): void {
  const wait = opts.timeoutMs ?? 20_000;
  const nodeName = opts.nodeName ?? 'edge-1';

  describe('DMI conformance: edgecore against a mapper that speaks only the DMI proto', () => {
    const temp = mkdtempSync(join(tmpdir(), 'edgetwin-dmi-conformance-'));
    const dirs: DmiEdgeDirs = { devicesDir: join(temp, 'devices'), dataDir: join(temp, 'data'), nodeName };
    const peerSocket = (name: string) => join(temp, `${name}.sock`);
    let edge: DmiEdgeUnderTest | undefined;
    let mapper: DmiPeerMapper | undefined;

    const url = (path: string) => `${edge!.http}/api/v1/devices/${NS}/${DEVICE}${path}`;
    const twin = async (): Promise<TwinView> => {
      const res = await fetch(url('/twin'), { headers: edge!.headers ?? {} });
      expect(res.status, `GET ${url('/twin')}`).toBe(200);
      return (await res.json()) as TwinView;
    };
    const patchDesired = async (body: Record<string, unknown>): Promise<number> => {
      const res = await fetch(url('/twin/desired'), {
        method: 'PATCH',
        headers: { ...(edge!.headers ?? {}), 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify(body),
      });
      await res.arrayBuffer();
      return res.status;
    };
    const switchDesired = (l: { device?: { properties: { name: string; desired?: string }[] } | undefined }) =>
      l.device?.properties.find((p) => p.name === 'switch')?.desired;

    beforeAll(async () => {
      for (const d of [dirs.devicesDir, dirs.dataDir]) mkdirFresh(d);
      writeFileSync(join(dirs.devicesDir, 'sensor.yaml'), devicesYaml(nodeName));
      edge = await opts.startEdge(dirs);
      // The mapper starts after edgecore has its devices, as after a node reboot.
      mapper = DmiPeerMapper.start(edge.dmiSocket, peerSocket('mapper'));
    });

    afterAll(async () => {
      await mapper?.stop();
      await edge?.stop();
      rmSync(temp, { recursive: true, force: true });
    });

    it('a mapper started after its devices gets them and their model at registration', async () => {
      const reg = await mapper!.answer('register', 0, wait);
      expect(reg.error, reg.details).toBeUndefined();
      expect(reg.models).toContain(MODEL);
      const dev = reg.devices!.find((d) => d.name === DEVICE);
      expect(dev, 'the device in the MapperRegister answer').toBeDefined();
      expect(dev!.protocol.name).toBe('modbus');
      expect(dev!.protocol.config.slaveID).toEqual({ type: 'Int64Value', value: 1 });
      expect(dev!.protocol.config.ip).toEqual({ type: 'StringValue', value: '127.0.0.1' });
      const temperature = dev!.properties.find((p) => p.name === 'temperature')!;
      expect(temperature.visitor.register).toEqual({ type: 'StringValue', value: 'HoldingRegister' });
      expect(temperature.visitor.scale?.type).toBe('FloatValue');
      expect(Number(temperature.visitor.scale?.value)).toBeCloseTo(0.1, 6);
      expect(switchDesired({ device: dev })).toBe('1');
    });

    it('reported twins and a state reach the twin', async () => {
      const from = mapper!.lines.length;
      mapper!.reportTwins(NS, DEVICE, [
        { propertyName: 'temperature', reported: { value: '21.5', metadata: { type: 'float' } } },
      ]);
      expect((await mapper!.answer('status', from, wait)).ok).toBe(true);
      const next = mapper!.lines.length;
      mapper!.reportState(NS, DEVICE, 'OK');
      expect((await mapper!.answer('state', next, wait)).ok).toBe(true);
      const t = await twin();
      expect(t.reported.temperature?.value).toBe(21.5);
      expect(t.state).toBe('ok');
    });

    it('a report edgecore cannot take is refused with a gRPC status that says why', async () => {
      let from = mapper!.lines.length;
      mapper!.reportTwins(NS, DEVICE, [{ propertyName: 'temperature', reported: { value: 'hot' } }]);
      const badValue = await mapper!.answer('status', from, wait);
      expect(badValue.error).toBe('INVALID_ARGUMENT');
      expect(badValue.details).toMatch(/temperature/);
      from = mapper!.lines.length;
      mapper!.reportTwins(NS, 'no-such-device', [{ propertyName: 'temperature', reported: { value: '1' } }]);
      expect((await mapper!.answer('status', from, wait)).error).toBe('NOT_FOUND');
      expect((await twin()).reported.temperature?.value).toBe(21.5);
    });

    it('a desired value reaches the mapper through UpdateDevice once; reports cause no UpdateDevice', async () => {
      const before = mapper!.calls('UpdateDevice').length;
      expect(await patchDesired({ switch: 0 })).toBe(200);
      await waitFor(() => mapper!.calls('UpdateDevice').length > before, wait, 'UpdateDevice with the desired value');
      expect(switchDesired(mapper!.calls('UpdateDevice')[before]!)).toBe('0');
      const from = mapper!.lines.length;
      mapper!.reportTwins(NS, DEVICE, [{ propertyName: 'temperature', reported: { value: '22' } }]);
      await mapper!.answer('status', from, wait);
      expect(await patchDesired({ switch: 0 })).toBe(200); // the value it already has: nothing to send
      expect(await patchDesired({ switch: 1 })).toBe(200);
      await waitFor(() => mapper!.calls('UpdateDevice').length > before + 1, wait, 'the second UpdateDevice');
      expect(mapper!.calls('UpdateDevice').map(switchDesired).slice(before)).toEqual(['0', '1']);
    });

    it('a second mapper of the same protocol is refused while the first runs', async () => {
      const intruder = DmiPeerMapper.start(edge!.dmiSocket, peerSocket('intruder'), 'modbus', 'intruder');
      try {
        const reg = await intruder.answer('register', 0, wait);
        expect(reg.error).toBe('ALREADY_EXISTS');
        expect(reg.details).toMatch(/modbus/);
      } finally {
        await intruder.stop();
      }
    });

    it('the registration survives an edgecore restart: desired values still reach the mapper', async () => {
      await edge!.stop();
      edge = await opts.startEdge(dirs);
      const before = mapper!.calls('UpdateDevice').length;
      expect(await patchDesired({ switch: 0 })).toBe(200);
      await waitFor(() => mapper!.calls('UpdateDevice').length > before, wait, 'UpdateDevice after the restart');
      expect(switchDesired(mapper!.calls('UpdateDevice')[before]!)).toBe('0');
      expect(mapper!.lines.filter((l) => l.op === 'register')).toHaveLength(1); // it never had to register again
    });

    it('a mapper that stops and starts again registers again and gets its devices', async () => {
      await mapper!.stop();
      mapper = DmiPeerMapper.start(edge!.dmiSocket, peerSocket('mapper'));
      const reg = await mapper.answer('register', 0, wait);
      expect(reg.error, reg.details).toBeUndefined();
      const dev = reg.devices!.find((d) => d.name === DEVICE);
      expect(switchDesired({ device: dev })).toBe('0');
    });
  });
}

function mkdirFresh(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

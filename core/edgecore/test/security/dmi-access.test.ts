/**
 * Identity per mapper on DMI. edgecore (a real process) starts the real Modbus mapper with a DMI
 * token of its own, in a 0600 file named in its environment; @grpc/grpc-js with the repo's proto
 * plays every other local process:
 * - with the Modbus mapper's token, registering for or reporting a device of another protocol is
 *   PERMISSION_DENIED and changes nothing; a wrong, unknown or malformed token is UNAUTHENTICATED;
 * - without a token (a KubeEdge mapper), a protocol edgecore runs a mapper for is PERMISSION_DENIED,
 *   a protocol it has no mapper for keeps working; `--dmi-anonymous deny` refuses every call
 *   without a token;
 * - the Modbus mapper's own socket refuses calls without its token, and a forged RegisterDevice
 *   naming an attacker's TCP listener never makes the mapper connect there (a listener records
 *   connections), while the devices edgecore sends it are served.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type * as Grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, modelKey, resolveDevice, type Device, type DeviceModel } from '@edgetwin/sdk';
import { Status, loadDmi, newDmiToken, toPbDevice, toPbModel, unary } from '@edgetwin/sdk/dmi';
import { signalPid, waitFor } from '@edgetwin/sdk/testing';
import { mapperDmiTokenFile } from '@edgetwin/edgecore';
import { CLI, startEdgecore, tempDir, type EdgecoreProcess } from '../helpers/edgecore-process.js';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'thermostat.yaml');
const T = 30_000;

/** A TCP listener that counts connections (and closes them). */
async function listener(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => n,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A device of a protocol edgecore has no mapper for (served by a KubeEdge mapper, say). */
const ACME = `apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: meter-model, namespace: default }
spec:
  protocol: acme
  properties:
    - { name: level, type: INT, accessMode: ReadOnly }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: meter-1, namespace: default }
spec:
  deviceModelRef: { name: meter-model }
  nodeName: edge-1
  protocol: { protocolName: acme }
  properties:
    - name: level
      visitors: { protocolName: acme, configData: { channel: 1 } }
`;

/** A Modbus device and its model as DMI messages, its Modbus TCP endpoint at 127.0.0.1:`port`. */
function modbusDevice(name: string, port: number) {
  const model: DeviceModel = {
    apiVersion: API_VERSION,
    kind: 'DeviceModel',
    metadata: { name: `${name}-model`, namespace: 'default' },
    spec: { protocol: 'modbus', properties: [{ name: 'temperature', type: 'INT', accessMode: 'ReadOnly' }] },
  };
  const device: Device = {
    apiVersion: API_VERSION,
    kind: 'Device',
    metadata: { name, namespace: 'default' },
    spec: {
      deviceModelRef: { name: `${name}-model` },
      nodeName: 'edge-1',
      protocol: {
        protocolName: 'modbus',
        configData: { communicateMode: 'TCP', ip: '127.0.0.1', port, slaveID: 1 },
      },
      properties: [
        {
          name: 'temperature',
          collectCycle: 200,
          visitors: {
            protocolName: 'modbus',
            configData: { register: 'InputRegister', offset: 0, limit: 1, dataType: 'int16' },
          },
        },
      ],
    },
  };
  const resolved = resolveDevice(device, new Map([[modelKey('default', model.metadata.name), model]]));
  return { device: toPbDevice(resolved, {}), model: toPbModel(model) };
}

const report = (name: string, value: string) => ({
  deviceName: name,
  deviceNamespace: 'default',
  reportedDevice: { twins: [{ propertyName: 'level', reported: { value, metadata: {} } }] },
});
const state = (name: string, s: string) => ({ deviceName: name, deviceNamespace: 'default', state: s });
const register = (protocol: string, address: string) => ({
  withData: true,
  mapper: { name: 'x', version: '1', api_version: 'v1beta1', protocol, address: Buffer.from(address), state: 'ok' },
});

describe('DMI with a token per mapper (edgecore and the Modbus mapper as processes)', () => {
  let edge: EdgecoreProcess;
  let manager: Grpc.Client;
  let token: string;
  let legit: Awaited<ReturnType<typeof listener>>;
  let attacker: Awaited<ReturnType<typeof listener>>;
  /** The registrations edgecore keeps (its DMI state file): protocol -> mapper socket. */
  const registrations = () =>
    Object.fromEntries(
      (
        JSON.parse(readFileSync(join(edge.dataDir, 'dmi-mappers.json'), 'utf8')) as {
          mappers: { protocol: string; address: string; managed?: boolean }[];
        }
      ).mappers.map((m) => [m.protocol, { address: m.address, managed: m.managed }]),
    );
  const ours = () => ({
    modbus: { address: join(edge.dataDir, 'mappers', 'modbus', 'dmi-mapper.sock'), managed: true },
  });
  const twin = async (name: string) =>
    (await (await fetch(`${edge.http}/api/v1/devices/default/${name}/twin`)).json()) as {
      reported: Record<string, { value: unknown } | undefined>;
      state: string;
    };

  beforeAll(async () => {
    legit = await listener();
    attacker = await listener();
    const devicesDir = tempDir('dmi-access-devices');
    copyFileSync(fixture, join(devicesDir, 'thermostat.yaml'));
    const f = join(devicesDir, 'thermostat.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('port: 5020', `port: ${legit.port}`));
    writeFileSync(join(devicesDir, 'acme.yaml'), ACME);
    edge = await startEdgecore({ devicesDir, mappers: true });
    const e = edge;
    await waitFor(
      () => e.logs.some((l) => l.includes('mapper-modbus') && l.includes('registered with edgecore over DMI')),
      T,
      'the Modbus mapper to register over DMI',
    );
    // The mapper acts on what edgecore sent it (with its token): it connects to the device's endpoint.
    await waitFor(() => legit.connections() > 0, T, 'the Modbus mapper to connect to its device');
    token = readFileSync(mapperDmiTokenFile(edge.dataDir, 'modbus'), 'utf8').trim();
    const { grpc, Manager } = loadDmi();
    manager = new Manager(`unix:${join(edge.dataDir, 'dmi', 'dmi.sock')}`, grpc.credentials.createInsecure());
  }, 60_000);

  afterAll(async () => {
    manager?.close();
    await edge?.kill();
    await legit?.close();
    await attacker?.close();
  });

  it('the mapper gets its token from a 0600 file named in its environment: never in ps, its environment or the logs', () => {
    const file = mapperDmiTokenFile(edge.dataDir, 'modbus');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    const ps = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
    const children = ps
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, ppid]) => ppid === String(edge.child.pid));
    expect(children.map((c) => c.slice(2).join(' ')).join('\n')).toContain('mapper');
    expect(ps).not.toContain(token);
    for (const [pid] of children) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      expect(environ).toContain(`EDGETWIN_DMI_TOKEN_FILE=${file}`);
      expect(environ).not.toContain(token);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(token);
    }
    expect(edge.logs.join('\n')).not.toContain(token);
  });

  it("with the Modbus mapper's token, another protocol's registration and devices are PERMISSION_DENIED and nothing changes", async () => {
    const before = await twin('meter-1');
    for (const [method, req] of [
      ['MapperRegister', register('acme', '/tmp/evil.sock')],
      ['ReportDeviceStatus', report('meter-1', '41')],
      ['ReportDeviceStates', state('meter-1', 'offline')],
    ] as const)
      await expect(unary(manager, method, req, 5000, token)).rejects.toMatchObject({
        code: Status.PERMISSION_DENIED,
      });
    expect(await twin('meter-1')).toEqual(before);
    expect(registrations()).toEqual(ours());
    // Its own device is its to report.
    await unary(manager, 'ReportDeviceStates', state('thermostat-1', 'ok'), 5000, token);
  });

  it('a wrong, unknown or malformed token is UNAUTHENTICATED on every method, and nothing changes', async () => {
    const before = await twin('meter-1');
    for (const bad of [newDmiToken(), `${token}x`, 'not a token!'])
      for (const [method, req] of [
        ['MapperRegister', register('modbus', '/tmp/evil.sock')],
        ['ReportDeviceStatus', report('meter-1', '42')],
        ['ReportDeviceStates', state('thermostat-1', 'offline')],
      ] as const)
        await expect(unary(manager, method, req, 5000, bad)).rejects.toMatchObject({
          code: Status.UNAUTHENTICATED,
        });
    expect(await twin('meter-1')).toEqual(before);
    expect(registrations()).toEqual(ours());
  });

  it('without a token: the Modbus protocol (edgecore runs its mapper) is PERMISSION_DENIED; a protocol without a mapper of ours still works', async () => {
    const thermostat = await twin('thermostat-1');
    await expect(unary(manager, 'MapperRegister', register('modbus', '/tmp/evil.sock'))).rejects.toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    await expect(unary(manager, 'ReportDeviceStates', state('thermostat-1', 'offline'))).rejects.toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    expect((await twin('thermostat-1')).state).toBe(thermostat.state);
    expect(registrations()).toEqual(ours());
    await unary(manager, 'ReportDeviceStatus', report('meter-1', '43'));
    expect((await twin('meter-1')).reported.level?.value).toBe(43);
  });

  it("the Modbus mapper's socket refuses a forged RegisterDevice or UpdateDevice (no token, or a wrong one) and never connects where it points", async () => {
    const { grpc, Mapper } = loadDmi();
    const socket = join(edge.dataDir, 'mappers', 'modbus', 'dmi-mapper.sock');
    const mapper = new Mapper(`unix:${socket}`, grpc.credentials.createInsecure());
    try {
      const forged = modbusDevice('pump-1', attacker.port);
      const hijack = { ...modbusDevice('thermostat-1', attacker.port).device };
      for (const bad of [undefined, newDmiToken()]) {
        for (const [method, req] of [
          ['CreateDeviceModel', { model: forged.model }],
          ['RegisterDevice', { device: forged.device }],
          ['UpdateDevice', { device: hijack }],
          ['RemoveDevice', { deviceName: 'thermostat-1', deviceNamespace: 'default' }],
        ] as const)
          await expect(unary(mapper, method, req, 5000, bad)).rejects.toMatchObject({
            code: Status.UNAUTHENTICATED,
          });
      }
      // A device edgecore sends afterwards is served: the mapper works, and it went nowhere else.
      const next = await listener();
      try {
        const yaml = readFileSync(join(edge.devicesDir, 'thermostat.yaml'), 'utf8')
          .replaceAll('thermostat-1', 'boiler-1')
          .replace(`port: ${legit.port}`, `port: ${next.port}`);
        writeFileSync(join(edge.devicesDir, 'boiler.yaml'), yaml.split('---')[1]!);
        await waitFor(() => next.connections() > 0, T, 'the mapper to connect to the device edgecore sent');
      } finally {
        await next.close();
      }
      expect(attacker.connections()).toBe(0);
    } finally {
      mapper.close();
    }
  });

  it('a mapper edgecore restarts gets a new token; the old one is refused from then on', async () => {
    const file = mapperDmiTokenFile(edge.dataDir, 'modbus');
    const node = async () =>
      (
        (await (await fetch(`${edge.http}/api/v1/node`)).json()) as {
          mappers: { protocol: string; pid?: number; state: string }[];
        }
      ).mappers.find((m) => m.protocol === 'modbus');
    const pid = (await node())!.pid!;
    signalPid(pid, 'SIGKILL');
    await waitFor(
      async () => {
        const m = await node();
        return m?.state === 'running' && m.pid !== pid && readFileSync(file, 'utf8').trim() !== token;
      },
      T,
      'the Modbus mapper to run again with a new token',
    );
    const fresh = readFileSync(file, 'utf8').trim();
    await unary(manager, 'ReportDeviceStates', state('thermostat-1', 'ok'), 5000, fresh);
    await expect(unary(manager, 'ReportDeviceStates', state('thermostat-1', 'ok'), 5000, token)).rejects.toMatchObject({
      code: Status.UNAUTHENTICATED,
    });
  });
});

describe('DMI with --dmi-anonymous deny', () => {
  let edge: EdgecoreProcess | undefined;
  afterAll(async () => edge?.kill());

  it('an unknown --dmi-anonymous mode is refused at start, naming the modes', () => {
    const r = spawnSync(process.execPath, [CLI, 'edge', '--devices', tempDir('dmi-mode'), '--dmi-anonymous', 'open'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--dmi-anonymous open: expected one of unmanaged, deny');
  });

  it('refuses every call without a token (UNAUTHENTICATED), even for a protocol edgecore has no mapper for', async () => {
    const devicesDir = tempDir('dmi-deny-devices');
    writeFileSync(join(devicesDir, 'acme.yaml'), ACME);
    edge = await startEdgecore({ devicesDir, extraArgs: ['--dmi-anonymous', 'deny'] });
    const { grpc, Manager } = loadDmi();
    const manager = new Manager(`unix:${join(edge.dataDir, 'dmi', 'dmi.sock')}`, grpc.credentials.createInsecure());
    try {
      for (const [method, req] of [
        ['MapperRegister', register('acme', '/tmp/acme.sock')],
        ['ReportDeviceStatus', report('meter-1', '44')],
        ['ReportDeviceStates', state('meter-1', 'ok')],
      ] as const)
        await expect(unary(manager, method, req)).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
      const t = (await (await fetch(`${edge.http}/api/v1/devices/default/meter-1/twin`)).json()) as {
        reported: Record<string, unknown>;
      };
      expect(t.reported.level).toBeUndefined();
    } finally {
      manager.close();
    }
  });
});

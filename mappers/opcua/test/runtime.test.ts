/**
 * The mapper as it runs in production: `runMapper(opcuaMapper)` registered over DMI, against the
 * simulator over SignAndEncrypt, with the sdk's DmiSide playing edgecore (hands it the device,
 * sends desired values with UpdateDevice, records what the mapper reported).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { type Device, type DeviceModel } from '@edgetwin/sdk';
import { runMapper, type MapperHandle } from '@edgetwin/sdk/mapper';
import { DmiSide, waitFor } from '@edgetwin/sdk/testing';
import { defaultPkiDir, opcuaMapper } from '@edgetwin/mapper-opcua';
import { plantNodes, startOpcuaSimulator, type OpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { tempDir, trustServer } from './helpers.js';

const NODE = 'edge-opcua';
const ref = { namespace: 'default', name: 'tank-1' };

let sim: OpcuaSimulator;
let mapper: MapperHandle | undefined;
let twin: DmiSide;
const simPki = tempDir('runtime-sim');
const dataDir = tempDir('runtime');

function spec(url: string): { device: Device; model: DeviceModel } {
  return {
    model: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'DeviceModel',
      metadata: { name: 'tank-model', namespace: 'default' },
      spec: {
        protocol: 'opcua',
        properties: [
          { name: 'level', type: 'DOUBLE', accessMode: 'ReadOnly' },
          { name: 'pump', type: 'BOOLEAN', accessMode: 'ReadWrite' },
          { name: 'setpoint', type: 'FLOAT', accessMode: 'ReadWrite', minimum: 5, maximum: 90 },
        ],
      },
    },
    device: {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'Device',
      metadata: { name: ref.name, namespace: ref.namespace },
      spec: {
        deviceModelRef: { name: 'tank-model' },
        nodeName: NODE,
        protocol: { protocolName: 'opcua', configData: { url, securityMode: 'SignAndEncrypt', keepAliveMs: 1000 } },
        properties: [
          {
            name: 'level',
            collectCycle: 200,
            reportCycle: 200,
            visitors: { protocolName: 'opcua', configData: { nodeID: plantNodes.tankLevel } },
          },
          {
            name: 'pump',
            reportCycle: 200,
            visitors: { protocolName: 'opcua', configData: { nodeID: plantNodes.pumpOn } },
          },
          {
            name: 'setpoint',
            reportCycle: 200,
            visitors: {
              protocolName: 'opcua',
              configData: { browsePath: '/Objects/2:Plant/2:Heater/2:Setpoint', collect: 'poll' },
            },
          },
        ],
      },
    },
  };
}

describe('runMapper(opcuaMapper)', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    sim = await startOpcuaSimulator({ tickMs: 100, pkiDir: simPki });
    await trustServer(sim, defaultPkiDir(dataDir));
    twin = await DmiSide.start({ nodeName: NODE });
    const { device, model } = spec(sim.url);
    await twin.publishSpec(device, model);
    mapper = await runMapper(opcuaMapper, {
      dmiSocket: twin.socketPath,
      nodeName: NODE,
      dataDir,
      logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
      backoff: { initialMs: 200, maxMs: 1000 },
    });
  });

  afterAll(async () => {
    await mapper?.stop();
    await twin?.stop();
    await sim?.stop();
  });

  const values = (p: string) => twin.updates(ref).flatMap((u) => (u[p] === undefined ? [] : [u[p]]));
  const count = (p: string) => values(p).length;

  it('subscribed and polled values reach edgecore as $hw twin updates', async () => {
    await waitFor(() => count('level') >= 2, 20_000, 'two level reports');
    await waitFor(() => count('setpoint') >= 1 && count('pump') >= 1, 20_000, 'setpoint and pump reports');
    expect(twin.reported(ref, 'setpoint')).toBe('21.5');
    expect(twin.reported(ref, 'pump')).toBe('false');
    expect(mapper!.devices()).toEqual([expect.objectContaining({ id: 'default/tank-1', state: 'online' })]);
  });

  it('a desired value is written to the server (Boolean node) and the read-back is reported', async () => {
    await twin.setDesired(ref, 'pump', 'true');
    await waitFor(() => sim.plant.state.pumpOn, 20_000, 'the pump on the server to switch on');
    await waitFor(() => twin.reported(ref, 'pump') === 'true', 20_000, 'pump=true reported');
  });

  it('after a server restart the mapper reconnects and reports again, without being restarted', async () => {
    await sim.stop();
    await waitFor(() => mapper!.devices()[0]?.state === 'offline', 20_000, 'the device to go offline');
    sim = await startOpcuaSimulator({ tickMs: 100, pkiDir: simPki, port: sim.port });
    const before = count('level');
    await waitFor(() => count('level') >= before + 2, 30_000, 'level reports after the restart');
    await waitFor(() => mapper!.devices()[0]?.state === 'online', 20_000, 'the device to be online again');
    expect(sim.subscriptionCount()).toBe(1);
    expect(twin.lastState(ref)).toBe('online');
    expect(twin.states(ref)).toContain('offline');
  });
});

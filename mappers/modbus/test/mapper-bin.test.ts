/**
 * The `edgetwin-mapper-modbus` command end to end: a minimal edgecore DMI side handing it a
 * KubeEdge-style Device and DeviceModel, the simulator as the device, and the mapper as a process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DmiSide, stopProcess, waitFor } from '@edgetwin/sdk/testing';
import type { Device, DeviceModel } from '@edgetwin/sdk';
import { startModbusSimulator, type ModbusSimulator } from '@edgetwin/mapper-modbus/sim';

const BIN = fileURLToPath(new URL('../dist/src/bin.js', import.meta.url));

describe('edgetwin-mapper-modbus command', () => {
  let twin: DmiSide;
  let sim: ModbusSimulator;
  let mapper: ChildProcess;
  let stderr = '';
  const ref = { namespace: 'default', name: 'boiler' };

  beforeAll(async () => {
    twin = await DmiSide.start({ nodeName: 'edge-1' });
    sim = await startModbusSimulator({
      slaves: [
        {
          id: 5,
          holdingRegisters: [
            { address: 100, name: 'flow', type: 'float32', value: 12.5 },
            { address: 102, name: 'target', type: 'uint16', value: 60 },
          ],
          coils: [{ address: 3, name: 'pump', value: true }],
        },
      ],
    });
    const model: DeviceModel = {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'DeviceModel',
      metadata: { name: 'boiler-model', namespace: 'default' },
      spec: {
        protocol: 'modbus',
        protocolConfigData: { communicateMode: 'TCP', ip: '127.0.0.1' },
        properties: [
          {
            name: 'flow',
            type: 'FLOAT',
            accessMode: 'ReadOnly',
            visitors: {
              protocolName: 'modbus',
              configData: { register: 'HoldingRegister', offset: 100, limit: 2, dataType: 'float' },
            },
          },
          {
            name: 'target',
            type: 'INT',
            accessMode: 'ReadWrite',
            visitors: {
              protocolName: 'modbus',
              configData: { register: 'HoldingRegister', offset: 102, dataType: 'uint16' },
            },
          },
          {
            name: 'pump',
            type: 'BOOLEAN',
            accessMode: 'ReadWrite',
            visitors: { protocolName: 'modbus', configData: { register: 'CoilRegister', offset: 3 } },
          },
        ],
      },
    };
    const device: Device = {
      apiVersion: 'devices.kubeedge.io/v1beta1',
      kind: 'Device',
      metadata: { name: 'boiler', namespace: 'default' },
      spec: {
        deviceModelRef: { name: 'boiler-model' },
        nodeName: 'edge-1',
        protocol: { protocolName: 'modbus', configData: { port: sim.port, slaveID: 5 } },
        properties: [
          { name: 'flow', collectCycle: 200, reportCycle: 200 },
          { name: 'target', collectCycle: 200, reportCycle: 200 },
          { name: 'pump', collectCycle: 200, reportCycle: 200 },
        ],
      },
    };
    await twin.publishSpec(device, model);
    mapper = spawn(
      process.execPath,
      [BIN, '--dmi-socket', twin.socketPath, '--node-name', 'edge-1', '--log-level', 'warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    mapper.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  }, 60_000);

  afterAll(async () => {
    if (mapper) await stopProcess(mapper);
    await twin?.stop();
    await sim?.stop();
  });

  it('reports the Modbus values of a KubeEdge-style device and writes a desired value to the device', async () => {
    await waitFor(
      () =>
        twin.reported(ref, 'flow') === '12.5' &&
        twin.reported(ref, 'target') === '60' &&
        twin.reported(ref, 'pump') === 'true',
      30_000,
      `reports of flow, target and pump (mapper stderr: ${stderr})`,
    );
    await twin.setDesired(ref, 'target', '75');
    await waitFor(() => sim.slave(5).getValue('target') === 75, 30_000, 'the target register to be written');
    await waitFor(() => twin.reported(ref, 'target') === '75', 30_000, 'target reported as 75');
  });
});

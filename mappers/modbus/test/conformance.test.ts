/** The sdk's mapper conformance suite, run against the Modbus mapper and the Modbus simulator. */
import { mapperConformance } from '@edgetwin/sdk/testing';
import { modbusMapper } from '@edgetwin/mapper-modbus';
import { startModbusSimulator } from '@edgetwin/mapper-modbus/sim';

mapperConformance({
  definition: modbusMapper,
  async startDevice() {
    const sim = await startModbusSimulator({
      slaves: [
        {
          id: 3,
          holdingRegisters: [
            {
              address: 0,
              name: 'temperature',
              type: 'int16',
              scale: 0.1,
              value: 20,
              drift: { min: 10, max: 30, step: 0.5, intervalMs: 200 },
            },
            { address: 1, name: 'setpoint', type: 'int16', scale: 0.1, value: 22 },
          ],
          inputRegisters: [{ address: 4, name: 'serial', type: 'uint32', value: 987654 }],
          coils: [{ address: 0, name: 'switch', value: false }],
        },
      ],
    });
    const model = {
      apiVersion: 'devices.kubeedge.io/v1beta1' as const,
      kind: 'DeviceModel' as const,
      metadata: { name: 'thermostat', namespace: 'default' },
      spec: {
        protocol: 'modbus',
        properties: [
          { name: 'temperature', type: 'FLOAT' as const, accessMode: 'ReadOnly' as const },
          { name: 'setpoint', type: 'FLOAT' as const, accessMode: 'ReadWrite' as const, minimum: 5, maximum: 35 },
          { name: 'serial', type: 'INT' as const, accessMode: 'ReadOnly' as const },
          { name: 'switch', type: 'BOOLEAN' as const, accessMode: 'ReadWrite' as const },
        ],
      },
    };
    const visitor = (configData: Record<string, unknown>) => ({ protocolName: 'modbus', configData });
    const device = {
      apiVersion: 'devices.kubeedge.io/v1beta1' as const,
      kind: 'Device' as const,
      metadata: { name: 'thermostat-1', namespace: 'default' },
      spec: {
        deviceModelRef: { name: 'thermostat' },
        protocol: {
          protocolName: 'modbus',
          configData: { communicateMode: 'TCP', ip: '127.0.0.1', port: sim.port, slaveID: 3 },
        },
        properties: [
          {
            name: 'temperature',
            collectCycle: 200,
            reportCycle: 200,
            visitors: visitor({ register: 'HoldingRegister', offset: 0, dataType: 'int16', scale: 0.1 }),
          },
          {
            name: 'setpoint',
            collectCycle: 200,
            reportCycle: 200,
            visitors: visitor({ register: 'HoldingRegister', offset: 1, dataType: 'int16', scale: 0.1 }),
          },
          {
            name: 'serial',
            collectCycle: 200,
            reportCycle: 200,
            visitors: visitor({ register: 'InputRegister', offset: 4, dataType: 'uint32' }),
          },
          {
            name: 'switch',
            collectCycle: 200,
            reportCycle: 200,
            visitors: visitor({ register: 'CoilRegister', offset: 0 }),
          },
        ],
      },
    };
    return {
      device,
      model,
      writable: { property: 'setpoint', values: [23.5, 19] as const },
      readOnly: { property: 'serial', value: 1 },
      known: { property: 'serial', value: 987654 },
      changing: 'temperature',
      invalidVisitor: { property: 'switch', configData: { register: 'Coils', offset: 0 }, field: '/register' },
      stop: () => sim.stop(),
    };
  },
});

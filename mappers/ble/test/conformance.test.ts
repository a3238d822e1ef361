/**
 * The sdk's mapper conformance suite, run against the BLE mapper with a simulated peripheral (a
 * notifying temperature and a writable brightness) behind the real noble library.
 */
import { mapperConformance } from '@edgetwin/sdk/testing';
import type { Device, DeviceModel } from '@edgetwin/sdk';
import { createBleMapper } from '@edgetwin/mapper-ble';
import { DEMO, SimBindings, SimWorld } from '@edgetwin/mapper-ble/sim';

const world = new SimWorld();
const ADDRESS = 'e7:00:00:00:00:10';

const model: DeviceModel = {
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'DeviceModel',
  metadata: { name: 'ble-lamp-sensor', namespace: 'default' },
  spec: {
    protocol: 'bluetooth',
    properties: [
      { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly', unit: 'degC' },
      { name: 'brightness', type: 'INT', accessMode: 'ReadWrite', minimum: 0, maximum: 100 },
    ],
  },
};

const device: Device = {
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'Device',
  metadata: { name: 'ble-lamp-sensor-1', namespace: 'default' },
  spec: {
    deviceModelRef: { name: 'ble-lamp-sensor' },
    protocol: { protocolName: 'bluetooth', configData: { macAddress: ADDRESS, reconnectIntervalMs: 100 } },
    properties: [
      {
        name: 'temperature',
        reportCycle: 300,
        visitors: {
          protocolName: 'bluetooth',
          configData: {
            serviceUUID: DEMO.sensor.service,
            characteristicUUID: DEMO.sensor.temperature,
            codec: { format: 'int16', scale: 0.01 },
          },
        },
      },
      {
        name: 'brightness',
        collectCycle: 300,
        reportCycle: 300,
        visitors: {
          protocolName: 'bluetooth',
          configData: {
            serviceUUID: DEMO.light.service,
            characteristicUUID: DEMO.light.brightness,
            codec: { format: 'uint8' },
          },
        },
      },
    ],
  },
};

mapperConformance({
  definition: createBleMapper({ bindings: new SimBindings(world) }),
  startDevice: () => {
    const lamp = world.add({
      address: ADDRESS,
      localName: 'EdgeTwin Lamp Sensor',
      services: [
        {
          uuid: DEMO.sensor.service,
          characteristics: [
            { uuid: DEMO.sensor.temperature, properties: ['read', 'notify'], value: Buffer.from([0x66, 0x08]) },
          ],
        },
        {
          uuid: DEMO.light.service,
          characteristics: [{ uuid: DEMO.light.brightness, properties: ['read', 'write'], value: Buffer.from([50]) }],
        },
      ],
    });
    let tick = 0;
    world.every(100, () => {
      const b = Buffer.alloc(2);
      b.writeInt16LE(2150 + (tick++ % 50));
      lamp.characteristic(DEMO.sensor.service, DEMO.sensor.temperature)?.set(b);
    });
    return Promise.resolve({
      device,
      model,
      writable: { property: 'brightness', values: [80, 20] as const },
      readOnly: { property: 'temperature', value: 20 },
      known: { property: 'brightness', value: 50 },
      changing: 'temperature',
      invalidVisitor: {
        property: 'brightness',
        configData: { characteristicUUID: 'not-a-uuid' },
        field: 'characteristicUUID',
      },
      stop: () => world.stop(),
    });
  },
});

/** Device and DeviceModel resources for the simulated sensor and plug (the same as examples/*.yaml). */
import type { Device, DeviceModel } from '@edgetwin/sdk';

export const SENSOR_IEEE = '0x00124b0000000101';
export const PLUG_IEEE = '0x00124b0000000202';

export function sensorModel(coordinator: string): DeviceModel {
  return {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'DeviceModel',
    metadata: { name: 'zigbee-th-sensor', namespace: 'default' },
    spec: {
      protocol: 'zigbee',
      protocolConfigData: { coordinator, channel: 15 },
      properties: [
        { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly', unit: '°C' },
        { name: 'humidity', type: 'FLOAT', accessMode: 'ReadOnly', unit: '%' },
      ],
    },
  };
}

export function sensorDevice(name = 'th-sensor', ieee = SENSOR_IEEE): Device {
  return {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'Device',
    metadata: { name, namespace: 'default' },
    spec: {
      deviceModelRef: { name: 'zigbee-th-sensor' },
      protocol: { protocolName: 'zigbee', configData: { ieeeAddress: ieee, endpoint: 1 } },
      properties: [
        {
          name: 'temperature',
          visitors: {
            protocolName: 'zigbee',
            configData: { cluster: 'msTemperatureMeasurement', attribute: 'measuredValue', scale: 0.01 },
          },
        },
        {
          name: 'humidity',
          visitors: {
            protocolName: 'zigbee',
            configData: { cluster: 'msRelativeHumidity', attribute: 'measuredValue', scale: 0.01 },
          },
        },
      ],
    },
  };
}

export function plugModel(coordinator: string): DeviceModel {
  return {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'DeviceModel',
    metadata: { name: 'zigbee-plug', namespace: 'default' },
    spec: {
      protocol: 'zigbee',
      protocolConfigData: { coordinator, channel: 15 },
      properties: [
        { name: 'power', type: 'BOOLEAN', accessMode: 'ReadWrite' },
        { name: 'level', type: 'INT', accessMode: 'ReadWrite', minimum: 0, maximum: 254 },
        { name: 'model', type: 'STRING', accessMode: 'ReadOnly' },
      ],
    },
  };
}

export function plugDevice(name = 'plug'): Device {
  return {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'Device',
    metadata: { name, namespace: 'default' },
    spec: {
      deviceModelRef: { name: 'zigbee-plug' },
      protocol: { protocolName: 'zigbee', configData: { ieeeAddress: PLUG_IEEE } },
      properties: [
        {
          name: 'power',
          visitors: { protocolName: 'zigbee', configData: { cluster: 'genOnOff', attribute: 'onOff' } },
        },
        {
          name: 'level',
          visitors: { protocolName: 'zigbee', configData: { cluster: 'genLevelCtrl', attribute: 'currentLevel' } },
        },
        {
          name: 'model',
          visitors: { protocolName: 'zigbee', configData: { cluster: 'genBasic', attribute: 'modelId' } },
        },
      ],
    },
  };
}

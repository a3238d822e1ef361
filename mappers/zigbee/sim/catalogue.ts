/**
 * Ready-made simulated devices: a temperature/humidity sensor, and an on/off plug with a dimmer
 * and power metering.
 */
import type { SimDeviceSpec } from './sim-device.js';

const HA_PROFILE = 0x0104;

export function temperatureHumiditySensor(ieeeAddress = '0x00124b0000000101', networkAddress = 0x1a01): SimDeviceSpec {
  return {
    ieeeAddress,
    networkAddress,
    logicalType: 2,
    manufacturerCode: 0x1234,
    joinOnPermit: true,
    endpoints: [
      {
        id: 1,
        profileId: HA_PROFILE,
        deviceId: 0x0302,
        inClusters: ['genBasic', 'genPowerCfg', 'msTemperatureMeasurement', 'msRelativeHumidity'],
        outClusters: [],
      },
    ],
    attributes: {
      '1/genBasic': basic('EdgeTwin-TH-1', 3),
      '1/genPowerCfg': { batteryPercentageRemaining: 200 },
      '1/msTemperatureMeasurement': { measuredValue: 2150, minMeasuredValue: -4000, maxMeasuredValue: 8500 },
      '1/msRelativeHumidity': { measuredValue: 4500 },
    },
    periodic: [
      { path: '1/msTemperatureMeasurement/measuredValue', min: 1800, max: 2600, step: 10 },
      { path: '1/msRelativeHumidity/measuredValue', min: 3000, max: 6000, step: 50 },
    ],
  };
}

export function onOffPlug(ieeeAddress = '0x00124b0000000202', networkAddress = 0x2b02): SimDeviceSpec {
  return {
    ieeeAddress,
    networkAddress,
    logicalType: 1,
    manufacturerCode: 0x1234,
    joinOnPermit: true,
    endpoints: [
      {
        id: 1,
        profileId: HA_PROFILE,
        deviceId: 0x0101,
        inClusters: ['genBasic', 'genOnOff', 'genLevelCtrl', 'haElectricalMeasurement'],
        outClusters: [],
      },
    ],
    attributes: {
      '1/genBasic': basic('EdgeTwin-PLUG-1', 1),
      '1/genOnOff': { onOff: 0 },
      '1/genLevelCtrl': { currentLevel: 254 },
      '1/haElectricalMeasurement': { activePower: 0 },
    },
    // Metered power drifts while the plug reports (W).
    periodic: [{ path: '1/haElectricalMeasurement/activePower', min: 0, max: 2000, step: 15 }],
  };
}

function basic(modelId: string, powerSource: number): Record<string, string | number> {
  return {
    zclVersion: 8,
    appVersion: 1,
    stackVersion: 2,
    hwVersion: 1,
    manufacturerName: 'EdgeTwin',
    modelId,
    dateCode: '20260101',
    powerSource,
    swBuildId: '1.0.0',
  };
}

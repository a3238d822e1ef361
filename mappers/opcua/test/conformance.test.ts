/** The sdk's mapper conformance suite against the OPC UA simulator over SignAndEncrypt. */
import { mapperConformance } from '@edgetwin/sdk/testing';
import { opcuaMapper } from '@edgetwin/mapper-opcua';
import { plantNodes, startOpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { tempDir, trustServer } from './helpers.js';

mapperConformance({
  definition: opcuaMapper,
  async startDevice() {
    const sim = await startOpcuaSimulator({ tickMs: 100 });
    // The suite makes its own data dir, so the trust list lives in a pkiDir the device names.
    const pkiDir = tempDir('conformance-pki');
    await trustServer(sim, pkiDir);
    const visitor = (configData: Record<string, unknown>) => ({ protocolName: 'opcua', configData });
    return {
      model: {
        apiVersion: 'devices.kubeedge.io/v1beta1',
        kind: 'DeviceModel',
        metadata: { name: 'opcua-tank', namespace: 'default' },
        spec: {
          protocol: 'opcua',
          properties: [
            { name: 'level', type: 'DOUBLE', accessMode: 'ReadOnly' },
            { name: 'pump', type: 'BOOLEAN', accessMode: 'ReadWrite' },
            { name: 'setpoint', type: 'FLOAT', accessMode: 'ReadWrite' },
          ],
        },
      },
      device: {
        apiVersion: 'devices.kubeedge.io/v1beta1',
        kind: 'Device',
        metadata: { name: 'opcua-tank-1', namespace: 'default' },
        spec: {
          deviceModelRef: { name: 'opcua-tank' },
          protocol: { protocolName: 'opcua', configData: { url: sim.url, securityMode: 'SignAndEncrypt', pkiDir } },
          properties: [
            { name: 'level', collectCycle: 200, reportCycle: 200, visitors: visitor({ nodeID: plantNodes.tankLevel }) },
            { name: 'pump', reportCycle: 200, visitors: visitor({ nodeID: plantNodes.pumpOn }) },
            { name: 'setpoint', reportCycle: 200, visitors: visitor({ nodeID: plantNodes.setpoint, collect: 'poll' }) },
          ],
        },
      },
      writable: { property: 'pump', values: [true, false] },
      readOnly: { property: 'level', value: 10 },
      known: { property: 'setpoint', value: 21.5 },
      changing: 'level',
      invalidVisitor: {
        property: 'level',
        configData: { nodeID: plantNodes.tankLevel, collect: 'sometimes' },
        field: 'collect',
      },
      stop: () => sim.stop(),
    };
  },
});

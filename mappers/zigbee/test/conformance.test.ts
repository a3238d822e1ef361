/** The sdk's mapper conformance suite, run against the ZigBee mapper and the ZNP emulator's plug. */
import { mapperConformance } from '@edgetwin/sdk/testing';
import { zigbeeMapper } from '@edgetwin/mapper-zigbee';
import { onOffPlug, startZnpEmulator } from '@edgetwin/mapper-zigbee/sim';
import { plugDevice, plugModel } from './fixtures.js';

mapperConformance({
  // The suite's mapper starts with an empty data dir, so it forms a new network: let the declared
  // plug pair on its own.
  definition: zigbeeMapper({ permitJoinForMissingSeconds: 60, backoff: { initialMs: 200, maxMs: 2000 } }),
  timeoutMs: 30_000,
  async startDevice() {
    const emu = await startZnpEmulator({ devices: [onOffPlug()], reportIntervalMs: 300, joinDelayMs: 100 });
    const model = plugModel(emu.url);
    model.spec.properties.push({ name: 'activePower', type: 'FLOAT', accessMode: 'ReadOnly', unit: 'W' });
    const device = plugDevice();
    device.spec.properties.push({
      name: 'activePower',
      visitors: {
        protocolName: 'zigbee',
        configData: { cluster: 'haElectricalMeasurement', attribute: 'activePower' },
      },
    });
    return {
      device,
      model,
      writable: { property: 'power', values: [true, false] },
      readOnly: { property: 'model', value: 'other' },
      known: { property: 'model', value: 'EdgeTwin-PLUG-1' },
      changing: 'activePower',
      invalidVisitor: { property: 'power', configData: { cluster: 'genOnOff' }, field: 'attribute' },
      stop: () => emu.stop(),
    };
  },
});

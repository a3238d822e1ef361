import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Device, DeviceModel } from '@edgetwin/sdk';
import { mapperConformance } from '@edgetwin/sdk/testing';
import { counterMapper } from '../template-mapper/src/index.js';
import { startCounterSimulator } from '../template-mapper/sim/index.js';

const yamlFile = fileURLToPath(new URL('../template-mapper/counter-device.yaml', import.meta.url));

mapperConformance({
  definition: counterMapper,
  async startDevice() {
    const sim = await startCounterSimulator({ tickMs: 100 });
    // The same YAML a user applies, pointed at the simulator's port.
    const [model, device] = parseAllDocuments(readFileSync(yamlFile, 'utf8')).map((d) => d.toJS() as unknown) as [
      DeviceModel,
      Device,
    ];
    device.spec.protocol!.configData = { host: '127.0.0.1', port: sim.port };
    return {
      device,
      model,
      writable: { property: 'step', values: [5, 7] },
      readOnly: { property: 'count', value: 42 },
      known: { property: 'step', value: 1 },
      changing: 'count',
      invalidVisitor: { property: 'step', configData: { register: 'Not A Register!' }, field: '/register' },
      stop: () => sim.stop(),
    };
  },
});

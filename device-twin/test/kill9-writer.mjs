// Child process for the kill -9 test: reports values as fast as it can and prints each one the
// twin acknowledged ("acked <n>"). The test kills it with SIGKILL at a random moment.
import process from 'node:process';
import { pino } from 'pino';
import { API_VERSION, modelKey, resolveDevice } from '@edgetwin/sdk';
import { openTwinStore, TwinService } from '@edgetwin/device-twin';

const file = process.argv[2];
const store = openTwinStore({ file });
const twin = new TwinService({ store, logger: pino({ level: 'silent' }), nodeName: 'edge-1' });
await twin.start();
const model = {
  apiVersion: API_VERSION,
  kind: 'DeviceModel',
  metadata: { name: 'counter', namespace: 'default' },
  spec: { properties: [{ name: 'n', type: 'INT' }] },
};
const devices = ['c0', 'c1', 'c2', 'c3'].map((name) =>
  resolveDevice(
    {
      apiVersion: API_VERSION,
      kind: 'Device',
      metadata: { name, namespace: 'default' },
      spec: { deviceModelRef: { name: 'counter' }, properties: [{ name: 'n' }] },
    },
    new Map([[modelKey('default', 'counter'), model]]),
  ),
);
twin.applyResources({ models: [model], devices });
process.stdout.write('ready\n');
for (let n = 1; ; n++) {
  // several writers in the same tick, like many mappers at once
  await Promise.all(devices.map((d) => twin.report(d.id, { n: { value: n } })));
  process.stdout.write(`acked ${n}\n`);
}

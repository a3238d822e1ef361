#!/usr/bin/env node
/**
 * `edgetwin-ble-simulator [--port 2846] [--notify-interval-ms 1000]`: serves the demo peripherals
 * over noble's websocket-bindings protocol until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { NOBLE_WEBSOCKET_PORT, startBleSimulator } from './ws-server.js';
import { DEMO } from './demo.js';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string' }, 'notify-interval-ms': { type: 'string' } },
});
const sim = await startBleSimulator({
  port: Number(values.port ?? NOBLE_WEBSOCKET_PORT),
  ...(values.host === undefined ? {} : { host: values.host }),
  ...(values['notify-interval-ms'] === undefined ? {} : { notifyIntervalMs: Number(values['notify-interval-ms']) }),
});
process.stdout.write(
  `BLE simulator on ${sim.url}: sensor ${DEMO.sensor.address}, thermometer ${DEMO.thermometer.address}, light ${DEMO.light.address}\n`,
);
const stop = () => {
  sim.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

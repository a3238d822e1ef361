/**
 * The quickstart: `npm start` from the repository root. Starts the device simulators, then
 * edgecore on the embedded defaults with examples/quickstart/devices and the supervised mappers,
 * and prints what to try. Ctrl-C stops all of it.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { EdgeCore } from '@edgetwin/core';
import { startModbusSimulator } from '@edgetwin/mapper-modbus';
import { printTour } from './tour.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const here = resolve(root, 'examples/quickstart');
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const ports = {
  http: env('EDGETWIN_HTTP_PORT', 8080),
  mqtt: env('EDGETWIN_MQTT_PORT', 1883),
  modbus: env('EDGETWIN_MODBUS_PORT', 5020),
};
// Mappers inherit this; the quickstart keeps the terminal for the tour.
process.env.EDGETWIN_LOG_LEVEL ??= 'warn';
const logger = pino({ name: 'quickstart', level: process.env.EDGETWIN_LOG_LEVEL });

/**
 * The devices YAML points at the simulators' default ports. When a port is moved with an
 * environment variable, edgecore gets a copy of the directory with the port rewritten.
 */
async function devicesDirFor(dataDir: string): Promise<string> {
  const source = resolve(here, 'devices');
  if (ports.modbus === 5020) return source;
  const copy = resolve(dataDir, 'devices');
  await mkdir(copy, { recursive: true });
  for (const name of await readdir(source)) {
    const text = await readFile(resolve(source, name), 'utf8');
    await writeFile(resolve(copy, name), text.replaceAll('port: 5020', `port: ${ports.modbus}`));
  }
  console.log(`  (simulator ports moved: devices are read from ${copy})`);
  return copy;
}

async function main(): Promise<void> {
  console.log('Starting the EdgeTwin quickstart ...');
  const modbus = await startModbusSimulator(resolve(here, 'modbus-sim.yaml'), { port: ports.modbus });
  console.log(`  Modbus simulator        tcp://127.0.0.1:${ports.modbus} (slave 1: thermostat)`);

  const dataDir = resolve(process.env.EDGETWIN_DATA_DIR ?? resolve(root, '.data/quickstart'));
  const devicesDir = await devicesDirFor(dataDir);
  const core = new EdgeCore({
    devicesDir,
    dataDir,
    nodeName: 'quickstart-node',
    logger,
    mqttPort: ports.mqtt,
    httpPort: ports.http,
  });
  const stopAll = async () => {
    await core.stop();
    await modbus.stop();
  };
  try {
    await core.start();
  } catch (err) {
    await stopAll();
    throw err;
  }
  console.log(`  edgecore                HTTP ${core.httpUrl}   MQTT ${core.mqttUrl}   node quickstart-node`);
  printTour(ports);

  const signal = await new Promise<string>((done) => {
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
  console.log(`\n${signal}: stopping edgecore, the mappers and the simulators ...`);
  await stopAll();
  console.log('Stopped.');
}

main().catch((err: unknown) => {
  console.error(`quickstart failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

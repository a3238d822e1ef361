/**
 * The quickstart: `npm start` from the repository root. Starts the device simulators, then
 * edgecore on the embedded defaults with examples/quickstart/devices and the supervised mappers,
 * and prints what to try. Ctrl-C stops all of it.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { EdgeCore } from '@edgetwin/edgecore';
import { startModbusSimulator } from '@edgetwin/mapper-modbus/sim';
import { defaultPkiDir, trustServerCertificate } from '@edgetwin/mapper-opcua';
import { startOpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { startZnpEmulator } from '@edgetwin/mapper-zigbee/sim';
import { createTourCredentials } from './credentials.js';
import { printConsole, printTour } from './tour.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const here = resolve(root, 'examples/quickstart');
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

const ports = {
  http: env('EDGETWIN_HTTP_PORT', 8080),
  mqtt: env('EDGETWIN_MQTT_PORT', 1883),
  modbus: env('EDGETWIN_MODBUS_PORT', 5020),
  opcua: env('EDGETWIN_OPCUA_PORT', 4840),
  zigbee: env('EDGETWIN_ZIGBEE_PORT', 6638),
};
/** The ports the device YAML names, and what they become. */
const defaultPorts: [string, string][] = [
  ['port: 5020', `port: ${ports.modbus}`],
  ['127.0.0.1:4840/', `127.0.0.1:${ports.opcua}/`],
  ['tcp://127.0.0.1:6638', `tcp://127.0.0.1:${ports.zigbee}`],
];
// Mappers inherit these: quiet logs so the terminal keeps the tour; the BLE mapper drives simulated
// peripherals through noble's bindings; the ZigBee mapper lets the declared devices pair by themselves.
process.env.EDGETWIN_LOG_LEVEL ??= 'warn';
process.env.EDGETWIN_BLE_BINDINGS ??= 'sim';
process.env.EDGETWIN_ZIGBEE_PERMIT_JOIN_MISSING ??= '120';
const logger = pino({ name: 'quickstart', level: process.env.EDGETWIN_LOG_LEVEL });

/**
 * The devices YAML points at the simulators' default ports. When a port is moved with an
 * environment variable, edgecore gets a copy of the directory with the port rewritten.
 */
async function devicesDirFor(dataDir: string): Promise<string> {
  const source = resolve(here, 'devices');
  if (defaultPorts.every(([from, to]) => from === to)) return source;
  const copy = resolve(dataDir, 'devices');
  await mkdir(copy, { recursive: true });
  for (const name of await readdir(source)) {
    const text = await readFile(resolve(source, name), 'utf8');
    await writeFile(
      resolve(copy, name),
      defaultPorts.reduce((t, [from, to]) => t.replaceAll(from, to), text),
    );
  }
  console.log(`  (simulator ports moved: devices are read from ${copy})`);
  return copy;
}

/** One simulated device (or coordinator) per protocol, on loopback; all or none are left running. */
async function startSimulators(dataDir: string): Promise<{ stop(): Promise<void> }> {
  const running: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  };
  try {
    running.push(await startModbusSimulator(resolve(here, 'modbus-sim.yaml'), { port: ports.modbus }));
    console.log(`  Modbus simulator        tcp://127.0.0.1:${ports.modbus} (slave 1: thermostat)`);
    const opcua = await startOpcuaSimulator({ port: ports.opcua, pkiDir: resolve(dataDir, 'opcua-sim-pki') });
    running.push(opcua);
    // The mapper trusts the simulator's certificate (a real plant would have its own trust list).
    await trustServerCertificate(opcua.certificateFile, defaultPkiDir(resolve(dataDir, 'mappers', 'opcua')));
    console.log(`  OPC UA simulator        ${opcua.url} (tank, pump, heater; SignAndEncrypt)`);
    running.push(await startZnpEmulator({ port: ports.zigbee, stateFile: resolve(dataDir, 'znp-emulator.json') }));
    console.log(`  ZigBee ZNP emulator     tcp://127.0.0.1:${ports.zigbee} (temperature/humidity sensor, plug)`);
    console.log('  BLE                     simulated peripherals inside the BLE mapper (sensor, thermometer, light)');
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

async function main(): Promise<void> {
  printConsole(`http://127.0.0.1:${ports.http}`);
  console.log('Starting the EdgeTwin quickstart ...');
  const dataDir = resolve(process.env.EDGETWIN_DATA_DIR ?? resolve(root, '.data/quickstart'));
  await mkdir(dataDir, { recursive: true });
  const credentials = await createTourCredentials(dataDir);
  const simulators = await startSimulators(dataDir);
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
    await simulators.stop();
  };
  try {
    await core.start();
  } catch (err) {
    await stopAll();
    throw err;
  }
  console.log(`  edgecore                HTTP ${core.httpUrl}   MQTT ${core.mqttUrl}   node quickstart-node`);
  printConsole(core.httpUrl);
  printTour(ports, credentials);

  const signal = await new Promise<string>((done) => {
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
  console.log(`\n${signal}: stopping edgecore, the mappers and the simulators ... (${signal} again exits at once)`);
  process.once(signal, () => process.exit(130));
  await stopAll();
  console.log('Stopped.');
}

// Exits explicitly, as the edgetwin command does, rather than letting Node tear the process down
// when its event loop empties: that teardown destroys better-sqlite3 12's statement objects after
// Node's environment is gone, which on some Node 22 and 24 releases aborts the process (a signal
// instead of exit code 0) after everything has stopped cleanly.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`quickstart failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

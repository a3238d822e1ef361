/**
 * What bench:footprint runs against: the quickstart's devices (ports moved to free ones, the
 * Modbus thermostat optionally repeated into a fleet) and the four simulators, each in its own
 * process so that their memory is not counted against the edge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultPkiDir, trustServerCertificate } from '@edgetwin/mapper-opcua';
import { waitFor } from '@edgetwin/sdk/testing';

export const ROOT = resolve(import.meta.dirname, '../../..');
const QUICKSTART = join(ROOT, 'examples/quickstart');

export interface SimulatorPorts {
  modbus: number;
  opcua: number;
  zigbee: number;
}

/** Modbus slaves in the fleet's simulator; devices are spread over them round-robin. */
const FLEET_SLAVES = 100;

/**
 * The quickstart's devices directory, copied with the simulators' ports; with `modbusDevices` > 1
 * the thermostat is repeated (thermostat-1..N) over FLEET_SLAVES slaves of one Modbus endpoint.
 */
export function writeDevices(dir: string, ports: SimulatorPorts, modbusDevices: number): void {
  mkdirSync(dir, { recursive: true });
  const rewrites: [string, string][] = [
    ['port: 5020', `port: ${ports.modbus}`],
    ['127.0.0.1:4840/', `127.0.0.1:${ports.opcua}/`],
    ['tcp://127.0.0.1:6638', `tcp://127.0.0.1:${ports.zigbee}`],
  ];
  for (const name of readdirSync(join(QUICKSTART, 'devices'))) {
    let text = readFileSync(join(QUICKSTART, 'devices', name), 'utf8');
    text = rewrites.reduce((t, [from, to]) => t.replaceAll(from, to), text);
    if (name === 'thermostat.yaml' && modbusDevices > 1) text = thermostatFleet(text, modbusDevices);
    writeFileSync(join(dir, name), text);
  }
}

/** The thermostat file with its Device repeated `n` times (the model once). */
function thermostatFleet(text: string, n: number): string {
  const docs = text.split(/^---$/m);
  const device = docs.find((d) => /^kind: Device$/m.test(d));
  if (!device) throw new Error('examples/quickstart/devices/thermostat.yaml has no Device');
  const copies = Array.from({ length: n }, (_, i) =>
    device
      .replace('name: thermostat-1', `name: thermostat-${i + 1}`)
      .replace('slaveID: 1', `slaveID: ${(i % FLEET_SLAVES) + 1}`),
  );
  return [...docs.filter((d) => d !== device), ...copies].join('---');
}

/** The Modbus simulator's config: the quickstart's, or its slave 1 repeated for a fleet. */
function modbusSimConfig(dir: string, modbusDevices: number): string {
  const source = join(QUICKSTART, 'modbus-sim.yaml');
  if (modbusDevices <= 1) return source;
  const text = readFileSync(source, 'utf8');
  const slave = /^ {2}- id: 1\n([\s\S]*?)(?=^ {2}- id: )/m.exec(text)?.[1];
  if (!slave) throw new Error(`${source}: slave 1 not found`);
  const slaves = Array.from({ length: Math.min(modbusDevices, FLEET_SLAVES) }, (_, i) => `  - id: ${i + 1}\n${slave}`);
  const file = join(dir, 'modbus-fleet-sim.yaml');
  writeFileSync(file, `slaves:\n${slaves.join('')}`);
  return file;
}

export interface Simulators {
  processes: ChildProcess[];
  stop(): Promise<void>;
}

/** Runs a simulator's command and resolves once it prints `ready` on stdout. */
async function startProcess(
  args: string[],
  ready: string,
  what: string,
): Promise<{ child: ChildProcess; out: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`${what} exited: ${out}`);
      return out.includes(ready);
    },
    60_000,
    what,
  );
  return { child, out };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * The four simulators, each its own process: Modbus TCP, OPC UA (its certificate trusted by the
 * OPC UA mapper's PKI under `edgeDataDir`), the ZigBee ZNP emulator and the BLE peripherals
 * (noble's websocket bindings on ws://localhost:2846, where the mapper's noble looks).
 */
export async function startSimulators(
  dir: string,
  ports: SimulatorPorts,
  modbusDevices: number,
  edgeDataDir: string,
): Promise<Simulators> {
  const started: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(started.splice(0).map(stopProcess));
  };
  const bin = (pkg: string, name: string) => join(ROOT, 'mappers', pkg, 'bin', name);
  try {
    const config = modbusSimConfig(dir, modbusDevices);
    const modbus = bin('modbus', 'edgetwin-modbus-sim.js');
    started.push(
      (await startProcess([modbus, '--config', config, '--port', String(ports.modbus)], 'serving', 'Modbus simulator'))
        .child,
    );
    const opcuaArgs = [
      bin('opcua', 'edgetwin-opcua-sim.js'),
      '--port',
      String(ports.opcua),
      '--pki-dir',
      join(dir, 'opcua-sim-pki'),
    ];
    const opcua = await startProcess(opcuaArgs, 'SHA-1 thumbprint', 'OPC UA simulator');
    started.push(opcua.child);
    const certificate = /server certificate (\S+)/.exec(opcua.out)?.[1];
    if (!certificate) throw new Error(`the OPC UA simulator did not name its certificate: ${opcua.out}`);
    await trustServerCertificate(certificate, defaultPkiDir(join(edgeDataDir, 'mappers', 'opcua')));
    const znpArgs = [
      bin('zigbee', 'edgetwin-znp-emulator.js'),
      '--port',
      String(ports.zigbee),
      '--state',
      join(dir, 'znp.json'),
      '--log-level',
      'warn',
    ];
    started.push((await startProcess(znpArgs, 'ZNP emulator on', 'ZigBee ZNP emulator')).child);
    started.push(
      (await startProcess([bin('ble', 'edgetwin-ble-simulator.js')], 'BLE simulator on', 'BLE simulator')).child,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { processes: [...started], stop };
}

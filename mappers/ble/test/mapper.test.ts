/**
 * The BLE mapper under the sdk runtime (`runMapper`) against Debian's Mosquitto: specs come in as
 * retained messages, values go out as KubeEdge `$hw` twin updates, deltas come back as writes.
 * Peripherals are simulated behind the real noble library.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { runMapper, type MapperHandle } from '@edgetwin/sdk/mapper';
import { TwinSide, missingPeer, startMosquitto, stopProcess, waitFor, type RunningPeer } from '@edgetwin/sdk/testing';
import { createBleMapper } from '@edgetwin/mapper-ble';
import {
  DEMO,
  SimBindings,
  SimWorld,
  addDemoPeripherals,
  runSensor,
  type DemoPeripherals,
} from '@edgetwin/mapper-ble/sim';
import { loadExamples } from './helpers.js';

const skip = missingPeer('mosquitto', 'mosquitto_pub', 'mosquitto_sub');
const NODE = 'edge-ble';

let broker: RunningPeer;
/** The edgecore side of the `$hw` protocol (answers results, sends deltas), from the sdk testing kit. */
let twin: TwinSide;
let world: SimWorld;
let demo: DemoPeripherals;
let mapper: MapperHandle | undefined;
let watcher: ChildProcess | undefined;
let messages: { topic: string; payload: Record<string, unknown> }[] = [];

function pub(topic: string, payload: unknown, retain = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', topic, '-m', JSON.stringify(payload)];
    if (retain) args.push('-r');
    const p = spawn('mosquitto_pub', args, { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}`))));
  });
}

/** Watches every `$hw` message with Debian's mosquitto_sub (an independent client). */
async function watch(): Promise<void> {
  messages = [];
  watcher = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), '-v', '-t', '$hw/events/#'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let buf = '';
  watcher.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const sp = line.indexOf(' ');
      try {
        messages.push({ topic: line.slice(0, sp), payload: JSON.parse(line.slice(sp + 1)) as Record<string, unknown> });
      } catch {
        // not JSON: not ours
      }
    }
  });
  // mosquitto_sub has no "subscribed" signal: publish a probe until it shows up.
  await waitFor(
    async () => {
      await pub('$hw/events/probe', { probe: true });
      return messages.some((m) => m.topic === '$hw/events/probe');
    },
    10_000,
    'mosquitto_sub to subscribe',
  );
}

/** Reported values of `property` of device `name`, from twin/update messages. */
function reported(name: string, property: string): string[] {
  return messages
    .filter((m) => m.topic === `$hw/events/device/default/${name}/twin/update`)
    .flatMap((m) => {
      const twin = m.payload.twin as Record<string, { actual?: { value?: string } }> | undefined;
      const v = twin?.[property]?.actual?.value;
      return v === undefined ? [] : [v];
    });
}

async function publishSpecs(names: string[]): Promise<void> {
  const { devices, models } = loadExamples();
  for (const name of names) {
    const device = devices.find((d) => d.metadata.name === name)!;
    device.spec.nodeName = NODE;
    const model = models.find((m) => m.metadata.name === device.spec.deviceModelRef.name)!;
    await twin.publishSpec(device, model);
  }
}

async function startMapper(adapter: 'poweredOn' | 'poweredOff' = 'poweredOn'): Promise<MapperHandle> {
  world = new SimWorld();
  world.adapterState = adapter;
  demo = addDemoPeripherals(world);
  runSensor(world, demo.sensor, 100);
  mapper = await runMapper(createBleMapper({ bindings: new SimBindings(world), adapterTimeoutMs: 500 }), {
    mqttUrl: broker.url,
    nodeName: NODE,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    backoff: { initialMs: 100, maxMs: 500 },
    resultTimeoutMs: 500,
  });
  return mapper;
}

const state = (id: string) => mapper?.devices().find((d) => d.id === id);

describe.skipIf(skip)('BLE mapper process behaviour (runMapper + Mosquitto)', () => {
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.stop();
  });
  beforeEach(async () => {
    twin = await TwinSide.start({ mqttUrl: broker.url, nodeName: NODE });
  });
  afterEach(async () => {
    await mapper?.stop();
    mapper = undefined;
    if (watcher) await stopProcess(watcher);
    watcher = undefined;
    await world.stop();
    // Clear the retained specs so the next test starts empty.
    for (const name of ['ble-env-sensor-1', 'ble-light-1', 'ble-thermometer-1']) {
      await twin.removeSpec({ namespace: 'default', name });
    }
    await twin.stop();
  });

  it('reports notified sensor values as $hw twin updates and a delta switches the light on', async () => {
    await watch();
    await startMapper();
    await publishSpecs(['ble-env-sensor-1', 'ble-light-1', 'ble-thermometer-1']);
    await waitFor(() => reported('ble-env-sensor-1', 'temperature').length >= 2, 20_000, 'reported temperatures');
    for (const v of reported('ble-env-sensor-1', 'temperature')) expect(Number(v)).toBeGreaterThan(19);
    await waitFor(() => reported('ble-thermometer-1', 'temperature').length >= 1, 20_000, 'a polled thermometer value');
    await waitFor(() => state('default/ble-env-sensor-1')?.state === 'online', 20_000, 'the sensor to be online');

    await twin.setDesired({ namespace: 'default', name: 'ble-light-1' }, 'power', 'ON');
    await waitFor(
      () => demo.light.characteristic(DEMO.light.service, DEMO.light.power)?.value[0] === 1,
      20_000,
      'the light to be switched on',
    );
    await waitFor(() => reported('ble-light-1', 'power').includes('ON'), 20_000, 'power ON to be reported');
  });

  it('a dropped link reconnects and re-subscribes without restarting the mapper', async () => {
    await watch();
    await startMapper();
    await publishSpecs(['ble-env-sensor-1']);
    const id = 'default/ble-env-sensor-1';
    await waitFor(() => state(id)?.state === 'online', 20_000, 'the sensor to be online');
    demo.sensor.goAway();
    await waitFor(() => state(id)?.state === 'offline', 20_000, 'the sensor to be offline');
    expect(state(id)?.error).toContain('disconnected');
    demo.sensor.comeBack();
    await waitFor(() => state(id)?.state === 'online', 20_000, 'the sensor to be online again');
    const seen = reported('ble-env-sensor-1', 'temperature').length;
    await waitFor(
      () => reported('ble-env-sensor-1', 'temperature').length >= seen + 2,
      20_000,
      'notifications after the reconnect',
    );
    expect(demo.sensor.connected).toBe(true);
  });

  it('without a usable adapter each BLE device is unhealthy with the reason and the mapper keeps running', async () => {
    await startMapper('poweredOff');
    await publishSpecs(['ble-light-1', 'ble-thermometer-1']);
    for (const id of ['default/ble-light-1', 'default/ble-thermometer-1']) {
      await waitFor(() => state(id)?.state === 'unhealthy', 20_000, `${id} to be unhealthy`);
      expect(state(id)?.error).toContain('no usable Bluetooth adapter: the adapter is powered off');
    }
    expect(mapper!.connected()).toBe(true);
    // The radio comes up: the devices come online without a restart.
    world.setAdapterState('poweredOn');
    await waitFor(() => state('default/ble-light-1')?.state === 'online', 20_000, 'the light to be online');
  });

  it('the edgetwin-mapper-bluetooth process serves the simulated peripherals with EDGETWIN_BLE_BINDINGS=sim', async () => {
    await watch();
    world = new SimWorld(); // nothing in this process uses it; afterEach stops it
    const bin = fileURLToPath(new URL('../bin/edgetwin-mapper-bluetooth.js', import.meta.url));
    const child = spawn(process.execPath, [bin, '--mqtt-url', broker.url, '--node-name', NODE, '--log-level', 'warn'], {
      env: { ...process.env, EDGETWIN_BLE_BINDINGS: 'sim' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    try {
      await publishSpecs(['ble-env-sensor-1', 'ble-thermometer-1']);
      await waitFor(
        () => reported('ble-env-sensor-1', 'humidity').length >= 1,
        20_000,
        'humidity from the mapper process',
      );
      await waitFor(
        () => reported('ble-thermometer-1', 'temperature').length >= 1,
        20_000,
        'temperature from the mapper process',
      );
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
    } finally {
      await stopProcess(child);
    }
  }, 60_000);
});

/**
 * The demo peripherals: an environment sensor that notifies, a thermometer measured on demand
 * (laid out like TI's SensorTag IR-temperature service, KubeEdge's bluetooth example) and a light
 * with writable characteristics. Addresses and UUIDs are exported for YAML and tests.
 */
import type { OpenedBindings } from '../src/transport/load-noble.js';
import { SimBindings } from './bindings.js';
import { SimWorld, type SimPeripheral } from './world.js';

export const DEMO = {
  sensor: {
    address: 'e7:00:00:00:00:01',
    service: '181a', // Environmental Sensing
    temperature: '2a6e', // int16 LE, 0.01 degC, read + notify
    humidity: '2a6f', // uint16 LE, 0.01 %, read + notify
  },
  thermometer: {
    address: 'e7:00:00:00:00:02',
    service: 'f000aa0004514000b000000000000000',
    data: 'f000aa0104514000b000000000000000', // 4 bytes: object, ambient; int16 LE, degC * 128; read only
    config: 'f000aa0204514000b000000000000000', // 1 byte: 1 = measuring, 0 = off; read + write
  },
  light: {
    address: 'e7:00:00:00:00:03',
    service: 'ff10',
    power: 'ff11', // uint8 0/1, read + write
    brightness: 'ff12', // uint8 0..100, read + write
    // uint8, read + write advertised, but writes are answered with ATT error 0x05
    // InsufficientAuthentication until a central writes a non-zero byte to `grant`.
    scene: 'ff13',
    grant: 'ff14', // uint8, write: non-zero grants writes of `scene`, 0 takes the grant back
  },
} as const;

const ATT_INSUFFICIENT_AUTHENTICATION = 0x05;

export interface DemoOptions {
  /** Sensor notification interval (ms, default 1000). */
  notifyIntervalMs?: number;
}

export interface DemoPeripherals {
  sensor: SimPeripheral;
  thermometer: SimPeripheral;
  light: SimPeripheral;
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16LE(Math.round(n));
  return b;
}

function uint16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(Math.round(n));
  return b;
}

/** Adds the three demo peripherals to `world` (without starting their clocks). */
export function addDemoPeripherals(world: SimWorld): DemoPeripherals {
  const s = DEMO.sensor;
  const sensor = world.add({
    address: s.address,
    localName: 'EdgeTwin Env Sensor',
    services: [
      {
        uuid: s.service,
        characteristics: [
          { uuid: s.temperature, properties: ['read', 'notify'], value: int16(2150) },
          { uuid: s.humidity, properties: ['read', 'notify'], value: uint16(4500) },
        ],
      },
    ],
  });

  const t = DEMO.thermometer;
  let reads = 0;
  const thermometer = world.add({
    address: t.address,
    localName: 'EdgeTwin Thermometer',
    services: [
      {
        uuid: t.service,
        characteristics: [
          {
            uuid: t.data,
            properties: ['read'],
            value: Buffer.alloc(4),
            onRead: () => {
              const on = thermometer.characteristic(t.service, t.config)?.value[0] === 1;
              if (!on) return Buffer.alloc(4); // a SensorTag reads zeros while the sensor is off
              reads++;
              const ambient = 22.25 + (reads % 8) * 0.125;
              return Buffer.concat([int16((ambient + 3) * 128), int16(ambient * 128)]);
            },
          },
          { uuid: t.config, properties: ['read', 'write'], value: Buffer.from([1]) },
        ],
      },
    ],
  });

  const l = DEMO.light;
  const light = world.add({
    address: l.address,
    localName: 'EdgeTwin Light',
    services: [
      {
        uuid: l.service,
        characteristics: [
          { uuid: l.power, properties: ['read', 'write'], value: Buffer.from([0]) },
          { uuid: l.brightness, properties: ['read', 'write', 'writeWithoutResponse'], value: Buffer.from([50]) },
          {
            uuid: l.scene,
            properties: ['read', 'write'],
            value: Buffer.from([0]),
            refuseWritesWith: ATT_INSUFFICIENT_AUTHENTICATION,
          },
          {
            uuid: l.grant,
            properties: ['write'],
            value: Buffer.from([0]),
            onWrite: (data, c) => {
              const scene = c.peripheral.characteristic(l.service, l.scene);
              if (data[0]) scene?.grantWrites();
              else scene?.refuseWritesWith(ATT_INSUFFICIENT_AUTHENTICATION);
            },
          },
        ],
      },
    ],
  });
  return { sensor, thermometer, light };
}

/** Makes the sensor measure and notify every `notifyIntervalMs` (a slow, deterministic wave). */
export function runSensor(world: SimWorld, sensor: SimPeripheral, notifyIntervalMs = 1000): void {
  const s = DEMO.sensor;
  let tick = 0;
  world.every(notifyIntervalMs, () => {
    tick++;
    sensor.characteristic(s.service, s.temperature)?.set(int16(2150 + Math.round(150 * Math.sin(tick / 20))));
    sensor.characteristic(s.service, s.humidity)?.set(uint16(4500 + Math.round(500 * Math.sin(tick / 30))));
  });
}

/** A world with the demo peripherals, the sensor already notifying. Stop it with `world.stop()`. */
export function startDemoWorld(opts: DemoOptions = {}): SimWorld {
  const world = new SimWorld();
  const { sensor } = addDemoPeripherals(world);
  runSensor(world, sensor, opts.notifyIntervalMs);
  return world;
}

/**
 * Noble bindings over a fresh demo world, opened on the mapper's first device and stopped with the
 * driver: inject it with `createBleMapper({ bindings: openDemoBindings })`.
 */
export function openDemoBindings(): Promise<OpenedBindings> {
  const world = startDemoWorld();
  return Promise.resolve({ bindings: new SimBindings(world), kind: 'sim', release: () => world.stop() });
}

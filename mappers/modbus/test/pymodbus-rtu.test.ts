/**
 * Modbus RTU over a serial line: the driver on one end of a socat pty pair, Debian's pymodbus
 * (RTU framer) with two slaves on the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@edgetwin/sdk/testing';
import type { EdgeTwinError } from '@edgetwin/sdk';
import type { DeviceSession } from '@edgetwin/sdk/mapper';
import {
  createModbusDriver,
  type ModbusDriver,
  type ModbusSession,
  type ModbusVisitorConfig,
} from '@edgetwin/mapper-modbus';
import { device, hooks, logger, values, type PropDef } from './helpers/devices.js';
import { missingPymodbus, startPtyPair, startPymodbusRtu, type PtyPair, type PySlave } from './helpers/peers.js';

const skip = missingPymodbus('socat');

const PROPS: PropDef[] = [
  {
    name: 'temperature',
    type: 'FLOAT',
    visitor: { register: 'HoldingRegister', offset: 0, dataType: 'int16', scale: 0.1 },
  },
  {
    name: 'energy',
    type: 'INT',
    visitor: { register: 'InputRegister', offset: 10, dataType: 'uint32', isRegisterSwap: true },
  },
  { name: 'voltage', type: 'DOUBLE', visitor: { register: 'InputRegister', offset: 12, dataType: 'float64' } },
  { name: 'name', type: 'STRING', visitor: { register: 'HoldingRegister', offset: 20, dataType: 'string', limit: 4 } },
  { name: 'relay', type: 'BOOLEAN', visitor: { register: 'CoilRegister', offset: 0 } },
  { name: 'door', type: 'BOOLEAN', readOnly: true, visitor: { register: 'DiscreteInputRegister', offset: 1 } },
  { name: 'limit', type: 'INT', visitor: { register: 'HoldingRegister', offset: 30, dataType: 'int32' } },
];

describe.skipIf(skip)('Modbus RTU over a pty pair against pymodbus', () => {
  let pty: PtyPair;
  let slave: PySlave;
  let driver: ModbusDriver;
  let meter: DeviceSession<ModbusVisitorConfig>;
  const rtu = (slaveID: number, extra: Record<string, unknown> = {}) => ({
    communicateMode: 'RTU',
    serialPort: pty.a,
    baudRate: 19200,
    parity: 'N', // ptys here refuse parity bits (tcsetattr EINVAL)
    slaveID,
    timeout: 500,
    ...extra,
  });
  const signal = () => AbortSignal.timeout(10_000);

  beforeAll(async () => {
    pty = await startPtyPair();
    slave = startPymodbusRtu(
      {
        1: [
          { table: 'hr', address: 0, type: 'int16', value: 215 },
          { table: 'ir', address: 10, type: 'uint32', value: 3000000000, isRegisterSwap: true },
          { table: 'ir', address: 12, type: 'float64', value: 230.125 },
          { table: 'hr', address: 20, type: 'string', value: 'RTU1', length: 4 },
          { table: 'co', address: 0, value: false },
          { table: 'di', address: 1, value: true },
        ],
        2: [{ table: 'hr', address: 0, type: 'int16', value: -40 }],
      },
      pty.b,
    );
    driver = createModbusDriver({ logger });
    meter = await driver.connect(device('meter', rtu(1), PROPS), hooks(), signal());
    // pymodbus opens its end of the line a moment after it starts.
    await waitFor(
      async () =>
        !((await meter.read!(device('meter', rtu(1), PROPS).properties, signal())).get('temperature') instanceof Error),
      20_000,
      `pymodbus to answer on ${pty.b}: ${slave.output()}`,
    );
  });
  afterAll(async () => {
    await meter?.close();
    await driver?.stop();
    await slave?.stop();
    await pty?.stop();
  });

  it('reads scaled, swapped, 64-bit float, string, coil and discrete values over RTU', async () => {
    const dev = device('meter', rtu(1), PROPS);
    expect(values(await meter.read!(dev.properties, signal()))).toEqual({
      temperature: 21.5,
      energy: 3000000000,
      voltage: 230.125,
      name: 'RTU1',
      relay: false,
      door: true,
      limit: 0,
    });
  });

  it('writes a coil, a scaled register and a 32-bit value and reads them back over RTU', async () => {
    const props = device('meter', rtu(1), PROPS).properties;
    const byName = (n: string) => props.find((p) => p.name === n)!;
    expect((await meter.write(byName('relay'), true, signal()))?.value).toBe(true);
    expect((await meter.write(byName('temperature'), -12.3, signal()))?.value).toBe(-12.3);
    expect((await meter.write(byName('limit'), 70000, signal()))?.value).toBe(70000);
    const again = values(await meter.read!(props, signal()));
    expect(again).toMatchObject({ relay: true, temperature: -12.3, limit: 70000 });
  });

  it('two slaves share the serial line, and a silent slave backs off while the other keeps answering', async () => {
    const props: PropDef[] = [{ name: 'v', type: 'INT', visitor: { register: 'HoldingRegister', offset: 0 } }];
    const two = device('two', rtu(2), props);
    const ghost = device('ghost', rtu(7, { timeout: 300, backoffInitialMs: 10_000 }), props);
    const s2 = await driver.connect(two, hooks(), signal());
    const s7 = await driver.connect(ghost, hooks(), signal());
    try {
      const [a, b] = await Promise.all([s2.read!(two.properties, signal()), s7.read!(ghost.properties, signal())]);
      expect(values(a)).toEqual({ v: -40 });
      const err = b.get('v') as EdgeTwinError;
      expect(err.code).toBe('ET_TIMEOUT');
      expect(err.details).toMatchObject({ slaveId: 7, function: 3, address: 0 });
      const sent = (s2 as ModbusSession).requestCount;
      for (let i = 0; i < 5; i++) {
        const [x, y] = await Promise.all([s7.read!(ghost.properties, signal()), s2.read!(two.properties, signal())]);
        expect(values(x)).toEqual({ v: 'Error(ET_UNAVAILABLE)' });
        expect(values(y)).toEqual({ v: -40 });
      }
      // Five rounds in which only slave 2 was asked: the silent slave costs the bus no timeouts.
      expect((s2 as ModbusSession).requestCount - sent).toBe(5);
    } finally {
      await s2.close();
      await s7.close();
    }
  });
});

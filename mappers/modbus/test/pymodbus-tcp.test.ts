/**
 * The Modbus driver against Debian's pymodbus as an independent Modbus TCP slave: every data type,
 * byte and word orders, scale and offset, bits, writes (checked with mbpoll), errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEdgeTwinError, type EdgeTwinError } from '@edgetwin/sdk';
import { type DeviceSession } from '@edgetwin/sdk/mapper';
import { captureLogs } from '@edgetwin/sdk/testing';
import {
  createModbusDriver,
  type ModbusDriver,
  type ModbusSession,
  type ModbusVisitorConfig,
} from '@edgetwin/mapper-modbus';
import { device, hooks, logger, values, type PropDef } from './helpers/devices.js';
import { mbpollValues, missingPymodbus, run, startPymodbusTcp, type PySlave, type SlaveSpec } from './helpers/peers.js';

const skip = missingPymodbus('mbpoll');

const SPEC: SlaveSpec = {
  1: [
    { table: 'hr', address: 0, type: 'int16', value: -1234 },
    { table: 'hr', address: 1, type: 'uint16', value: 60000 },
    { table: 'hr', address: 2, type: 'int32', value: -123456789 },
    { table: 'hr', address: 4, type: 'uint32', value: 4000000000 },
    { table: 'hr', address: 6, type: 'int64', value: -9007199254740991 },
    { table: 'hr', address: 10, type: 'uint64', value: 9007199254740991 },
    { table: 'hr', address: 14, type: 'float32', value: 21.5 },
    { table: 'hr', address: 16, type: 'float64', value: -0.000123456789 },
    { table: 'hr', address: 20, type: 'string', value: 'EdgeTwin', length: 5 },
    { table: 'hr', address: 30, type: 'float32', value: 3.25, isRegisterSwap: true },
    { table: 'hr', address: 32, type: 'float32', value: 3.25, isSwap: true },
    { table: 'hr', address: 34, type: 'int32', value: 305419896, isSwap: true, isRegisterSwap: true },
    { table: 'hr', address: 36, type: 'float64', value: 1234.5678, isRegisterSwap: true },
    { table: 'hr', address: 40, type: 'int16', value: 215 },
    { table: 'hr', address: 41, type: 'uint16', value: 0b1010 },
    { table: 'hr', address: 50, type: 'int16', value: 20 },
    { table: 'hr', address: 51, type: 'int32', value: 0 },
    { table: 'hr', address: 53, type: 'float32', value: 0 },
    { table: 'ir', address: 5, type: 'uint16', value: 777 },
    { table: 'co', address: 3, value: true },
    { table: 'di', address: 7, value: true },
  ],
  2: [{ table: 'hr', address: 0, type: 'int16', value: 42 }],
};

const PROPS: PropDef[] = [
  { name: 'i16', type: 'INT', visitor: { register: 'HoldingRegister', offset: 0, dataType: 'int16' } },
  { name: 'u16', type: 'INT', visitor: { register: 'HoldingRegister', offset: 1, dataType: 'uint16' } },
  { name: 'i32', type: 'INT', visitor: { register: 'HoldingRegister', offset: 2, dataType: 'int32' } },
  { name: 'u32', type: 'INT', visitor: { register: 'HoldingRegister', offset: 4, dataType: 'uint32' } },
  { name: 'i64', type: 'INT', visitor: { register: 'HoldingRegister', offset: 6, dataType: 'int64' } },
  { name: 'u64', type: 'INT', visitor: { register: 'HoldingRegister', offset: 10, dataType: 'uint64' } },
  { name: 'f32', type: 'FLOAT', visitor: { register: 'HoldingRegister', offset: 14, dataType: 'float32' } },
  { name: 'f64', type: 'DOUBLE', visitor: { register: 'HoldingRegister', offset: 16, dataType: 'float64' } },
  { name: 'str', type: 'STRING', visitor: { register: 'HoldingRegister', offset: 20, dataType: 'string', limit: 5 } },
  {
    name: 'f32wordswap',
    type: 'FLOAT',
    visitor: { register: 'HoldingRegister', offset: 30, dataType: 'float32', isRegisterSwap: true },
  },
  { name: 'f32byteswap', type: 'FLOAT', visitor: { register: 'HoldingRegister', offset: 32, isSwap: true } },
  {
    name: 'i32bothswap',
    type: 'INT',
    visitor: { register: 'HoldingRegister', offset: 34, dataType: 'int32', isSwap: true, isRegisterSwap: true },
  },
  {
    name: 'f64wordswap',
    type: 'DOUBLE',
    visitor: { register: 'HoldingRegister', offset: 36, isRegisterSwap: true },
  },
  {
    name: 'scaled',
    type: 'FLOAT',
    visitor: { register: 'HoldingRegister', offset: 40, dataType: 'int16', scale: 0.1 },
  },
  { name: 'bit1', type: 'BOOLEAN', visitor: { register: 'HoldingRegister', offset: 41, bit: 1 } },
  { name: 'bit2', type: 'BOOLEAN', visitor: { register: 'HoldingRegister', offset: 41, bit: 2 } },
  {
    name: 'setpoint',
    type: 'FLOAT',
    visitor: { register: 'HoldingRegister', offset: 50, dataType: 'int16', scale: 0.5, valueOffset: -10 },
  },
  { name: 'counter', type: 'INT', visitor: { register: 'HoldingRegister', offset: 51, dataType: 'int32' } },
  { name: 'level', type: 'FLOAT', visitor: { register: 'HoldingRegister', offset: 53, dataType: 'float32' } },
  { name: 'input', type: 'INT', readOnly: true, visitor: { register: 'InputRegister', offset: 5 } },
  { name: 'coil', type: 'BOOLEAN', visitor: { register: 'CoilRegister', offset: 3 } },
  { name: 'coil4', type: 'BOOLEAN', visitor: { register: 'CoilRegister', offset: 4, writeMultiple: true } },
  { name: 'discrete', type: 'BOOLEAN', readOnly: true, visitor: { register: 'DiscreteInputRegister', offset: 7 } },
  { name: 'discrete8', type: 'BOOLEAN', readOnly: true, visitor: { register: 'DiscreteInputRegister', offset: 8 } },
];

describe.skipIf(skip)('Modbus TCP against pymodbus', () => {
  let slave: PySlave;
  let driver: ModbusDriver;
  let session: DeviceSession<ModbusVisitorConfig>;
  const dev = () => device('plc', { communicateMode: 'TCP', ip: '127.0.0.1', port: slave.port, slaveID: 1 }, PROPS);
  const prop = (name: string) => dev().properties.find((p) => p.name === name)!;
  const signal = () => AbortSignal.timeout(10_000);
  const mbpoll = (args: string[]) =>
    run('mbpoll', ['-m', 'tcp', '-p', String(slave.port), '-0', '-1', ...args, '127.0.0.1']);

  beforeAll(async () => {
    slave = await startPymodbusTcp(SPEC);
    driver = createModbusDriver({ logger });
    session = await driver.connect(dev(), hooks(), signal());
  });
  afterAll(async () => {
    await session?.close();
    await driver?.stop();
    await slave?.stop();
  });

  it('reads every data type, byte and word order, scale, bits, coils and discrete inputs', async () => {
    const result = await session.read!(dev().properties, signal());
    expect(values(result)).toEqual({
      i16: -1234,
      u16: 60000,
      i32: -123456789,
      u32: 4000000000,
      i64: -9007199254740991,
      u64: 9007199254740991,
      f32: 21.5,
      f64: -0.000123456789,
      str: 'EdgeTwin',
      f32wordswap: 3.25,
      f32byteswap: 3.25,
      i32bothswap: 305419896,
      f64wordswap: 1234.5678,
      scaled: 21.5,
      bit1: true,
      bit2: false,
      setpoint: 0,
      counter: 0,
      level: 0,
      input: 777,
      coil: true,
      coil4: false,
      discrete: true,
      discrete8: false,
    });
  });

  it('writes a scaled desired value with function 6 and returns the value read back', async () => {
    const back = await session.write(prop('setpoint'), 22.5, signal());
    expect(back?.value).toBe(22.5);
    // raw = (22.5 - -10) / 0.5 = 65, seen by an independent master
    expect(mbpollValues(await mbpoll(['-a', '1', '-r', '50', '-c', '1', '-t', '4']))).toEqual(['65']);
  });

  it('writes 32-bit integers and floats with function 16', async () => {
    expect((await session.write(prop('counter'), -100000, signal()))?.value).toBe(-100000);
    expect((await session.write(prop('level'), 12.75, signal()))?.value).toBe(12.75);
    const ints = await mbpoll(['-a', '1', '-r', '51', '-c', '1', '-t', '4:int', '-B']);
    expect(mbpollValues(ints)).toEqual(['-100000']);
    const floats = await mbpoll(['-a', '1', '-r', '53', '-c', '1', '-t', '4:float', '-B']);
    expect(mbpollValues(floats)).toEqual(['12.75']);
  });

  it('writes a bit inside a register without touching the other bits', async () => {
    expect((await session.write(prop('bit2'), true, signal()))?.value).toBe(true);
    expect(mbpollValues(await mbpoll(['-a', '1', '-r', '41', '-c', '1', '-t', '4']))).toEqual(['14']);
  });

  it('switches coils with function 5 and with function 15 when writeMultiple is set', async () => {
    expect((await session.write(prop('coil'), false, signal()))?.value).toBe(false);
    expect((await session.write(prop('coil4'), true, signal()))?.value).toBe(true);
    expect(mbpollValues(await mbpoll(['-a', '1', '-r', '3', '-c', '2', '-t', '0']))).toEqual(['0', '1']);
  });

  it('refuses to write an input register or a discrete input, naming the table', async () => {
    await expect(session.write(prop('input'), 1, signal())).rejects.toMatchObject({
      code: 'ET_READ_ONLY',
      message: expect.stringContaining('InputRegister 5'),
    });
    await expect(session.write(prop('discrete'), true, signal())).rejects.toMatchObject({ code: 'ET_READ_ONLY' });
  });

  it('refuses a value that does not fit the register type', async () => {
    const small = device('small', { ip: '127.0.0.1', port: slave.port }, [
      { name: 'x', type: 'INT', visitor: { register: 'HoldingRegister', offset: 0, dataType: 'int16' } },
    ]).properties[0]!;
    await expect(session.write(small, 70000, signal())).rejects.toMatchObject({ code: 'ET_BAD_VALUE' });
  });

  it('turns a Modbus exception into ET_PROTOCOL with slave, function, address and exception code, and logs it', async () => {
    const logs = captureLogs('debug');
    const own = createModbusDriver({ logger: logs.logger });
    const beyond = device('beyond', { ip: '127.0.0.1', port: slave.port }, [
      { name: 'far', type: 'INT', visitor: { register: 'HoldingRegister', offset: 5000 } },
    ]);
    const s = await own.connect(beyond, hooks(), signal());
    try {
      const result = await s.read!(beyond.properties, signal());
      const err = result.get('far') as EdgeTwinError;
      expect(isEdgeTwinError(err, 'ET_PROTOCOL')).toBe(true);
      expect(err.details).toMatchObject({ slaveId: 1, function: 3, address: 5000, exceptionCode: 2 });
      expect(err.message).toContain('Illegal data address');
      const line = logs.find('slave 1, function 3, address 5000')[0];
      expect(line).toMatchObject({ level: 40, device: 'default/beyond', module: 'modbus', exceptionCode: 2 });
    } finally {
      await s.close();
      await own.stop();
    }
  });

  it('a merged read over a hole in the register map falls back to one read per property', async () => {
    // pymodbus serves 1000 registers: 998 and 1002 are merged into one read that reaches past the end.
    const edge = device('edge', { ip: '127.0.0.1', port: slave.port }, [
      { name: 'last', type: 'INT', visitor: { register: 'HoldingRegister', offset: 998 } },
      { name: 'past', type: 'INT', visitor: { register: 'HoldingRegister', offset: 1002 } },
    ]);
    const counted = session as ModbusSession;
    const before = counted.requestCount;
    const result = values(await session.read!(edge.properties, signal()));
    expect(result).toEqual({ last: 0, past: 'Error(ET_PROTOCOL)' });
    expect(counted.requestCount - before).toBe(3); // the merged read, then one per property
    const again = counted.requestCount;
    expect(values(await session.read!(edge.properties, signal()))).toEqual(result);
    expect(counted.requestCount - again).toBe(2); // the refused merge is not tried again
  });

  it('serves several slaves over one connection, and a missing slave times out without slowing the others', async () => {
    const mk = (name: string, slaveID: number) =>
      device(name, { ip: '127.0.0.1', port: slave.port, slaveID, timeout: 300, backoffInitialMs: 5000 }, [
        { name: 'v', type: 'INT', visitor: { register: 'HoldingRegister', offset: 0 } },
      ]);
    const s2 = await driver.connect(mk('two', 2), hooks(), signal());
    const s9 = await driver.connect(mk('nine', 9), hooks(), signal());
    try {
      expect(values(await s2.read!(mk('two', 2).properties, signal()))).toEqual({ v: 42 });
      const first = (await s9.read!(mk('nine', 9).properties, signal())).get('v') as EdgeTwinError;
      expect(first.code).toBe('ET_TIMEOUT');
      expect(first.details).toMatchObject({ slaveId: 9, function: 3, address: 0 });
      // While slave 9 backs off its reads fail at once, without a request on the shared connection.
      const sent = (s2 as ModbusSession).requestCount;
      const again = (await s9.read!(mk('nine', 9).properties, signal())).get('v') as EdgeTwinError;
      expect(again.code).toBe('ET_UNAVAILABLE');
      expect(values(await s2.read!(mk('two', 2).properties, signal()))).toEqual({ v: 42 });
      expect((s2 as ModbusSession).requestCount - sent).toBe(1);
    } finally {
      await s2.close();
      await s9.close();
    }
  });
});

describe.skipIf(skip)('a pymodbus slave that goes away and comes back', () => {
  it('a killed slave calls onLost, and a new session reads again once it is back', async () => {
    let slave = await startPymodbusTcp({ 1: [{ table: 'hr', address: 0, type: 'int16', value: 7 }] });
    const port = slave.port!;
    const driver = createModbusDriver({ logger });
    const dev = device('comeback', { ip: '127.0.0.1', port, timeout: 500 }, [
      { name: 'v', type: 'INT', visitor: { register: 'HoldingRegister', offset: 0 } },
    ]);
    const h = hooks();
    try {
      const session = await driver.connect(dev, h, AbortSignal.timeout(10_000));
      expect(values(await session.read!(dev.properties, AbortSignal.timeout(10_000)))).toEqual({ v: 7 });
      await slave.stop();
      await expect.poll(() => h.lost.length, { timeout: 10_000 }).toBeGreaterThan(0);
      await session.close();
      await expect(driver.connect(dev, hooks(), AbortSignal.timeout(5000))).rejects.toMatchObject({
        code: 'ET_UNAVAILABLE',
      });
      slave = await startPymodbusTcp({ 1: [{ table: 'hr', address: 0, type: 'int16', value: 8 }] }, port);
      const again = await driver.connect(dev, hooks(), AbortSignal.timeout(10_000));
      expect(values(await again.read!(dev.properties, AbortSignal.timeout(10_000)))).toEqual({ v: 8 });
      await again.close();
    } finally {
      await driver.stop();
      await slave.stop();
    }
  });

  it('a slave that stops answering times out, backs off, and is read again when it answers', async () => {
    const slave = await startPymodbusTcp({ 1: [{ table: 'hr', address: 0, type: 'int16', value: 5 }] });
    const driver = createModbusDriver({ logger });
    const dev = device('paused', { ip: '127.0.0.1', port: slave.port, timeout: 300, backoffInitialMs: 200 }, [
      { name: 'v', type: 'INT', visitor: { register: 'HoldingRegister', offset: 0 } },
    ]);
    try {
      const session = await driver.connect(dev, hooks(), AbortSignal.timeout(10_000));
      expect(values(await session.read!(dev.properties, AbortSignal.timeout(10_000)))).toEqual({ v: 5 });
      slave.process.kill('SIGSTOP');
      const r = await session.read!(dev.properties, AbortSignal.timeout(10_000));
      expect(values(r)).toEqual({ v: 'Error(ET_TIMEOUT)' });
      slave.process.kill('SIGCONT');
      await expect
        .poll(async () => values(await session.read!(dev.properties, AbortSignal.timeout(10_000))), {
          timeout: 15_000,
          interval: 100,
        })
        .toEqual({ v: 5 });
      await session.close();
    } finally {
      slave.process.kill('SIGCONT');
      await driver.stop();
      await slave.stop();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { isEdgeTwinError, parseWithSchema } from '@edgetwin/sdk';
import {
  ModbusProtocolConfigSchema,
  ModbusVisitorConfigSchema,
  endpointOf,
  planReads,
  type PlanItem,
  type RegisterTable,
} from '@edgetwin/mapper-modbus';

const item = (key: string, address: number, count = 1, table: RegisterTable = 'HoldingRegister'): PlanItem<string> => ({
  key,
  table,
  address,
  count,
});

describe('read planner', () => {
  it('merges 100 adjacent registers into one request', () => {
    const items = Array.from({ length: 100 }, (_, i) => item(`p${i}`, i));
    const plan = planReads(items);
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ address: 0, count: 100 });
    expect(plan[0]!.items).toHaveLength(100);
  });

  it('never asks for more than 125 registers in one request', () => {
    const items = Array.from({ length: 300 }, (_, i) => item(`p${i}`, i));
    const plan = planReads(items);
    expect(plan.map((r) => [r.address, r.count])).toEqual([
      [0, 125],
      [125, 125],
      [250, 50],
    ]);
  });

  it('never asks for more than 2000 coils in one request', () => {
    const items = Array.from({ length: 2500 }, (_, i) => item(`c${i}`, i, 1, 'CoilRegister'));
    expect(planReads(items).map((r) => r.count)).toEqual([2000, 500]);
  });

  it('bridges gaps up to maxGap and splits beyond it', () => {
    const items = [item('a', 0, 2), item('b', 12), item('c', 30)];
    expect(planReads(items, { maxGap: 10 }).map((r) => [r.address, r.count])).toEqual([
      [0, 13],
      [30, 1],
    ]);
    expect(planReads(items, { maxGap: 0 })).toHaveLength(3);
    expect(planReads(items, { maxGap: 20 })).toHaveLength(1);
  });

  it('keeps tables apart and honours a smaller per-device limit', () => {
    const items = [
      item('h', 0),
      item('i', 0, 1, 'InputRegister'),
      item('c', 0, 1, 'CoilRegister'),
      item('d', 0, 1, 'DiscreteInputRegister'),
      item('h2', 1, 2),
    ];
    const plan = planReads(items, { maxRegisters: 2 });
    expect(plan.map((r) => `${r.table}:${r.address}+${r.count}`)).toEqual([
      'HoldingRegister:0+1',
      'HoldingRegister:1+2',
      'InputRegister:0+1',
      'CoilRegister:0+1',
      'DiscreteInputRegister:0+1',
    ]);
  });

  it('reads a register shared by two properties (two bits of one word) once', () => {
    const plan = planReads([item('bit0', 41), item('bit1', 41), item('word', 40, 2)]);
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ address: 40, count: 2 });
  });
});

describe('configData schemas', () => {
  it('fills KubeEdge defaults for a TCP device', () => {
    const p = parseWithSchema(ModbusProtocolConfigSchema, { ip: '10.0.0.5' }, 'Device default/plc');
    expect(p).toMatchObject({ communicateMode: 'TCP', port: 502, slaveID: 1, timeout: 1000, maxGap: 10 });
    expect(endpointOf(p)).toEqual({ kind: 'tcp', host: '10.0.0.5', port: 502 });
  });

  it('accepts KubeEdge RTU fields and maps parity letters', () => {
    const p = parseWithSchema(
      ModbusProtocolConfigSchema,
      { communicateMode: 'RTU', serialPort: '/dev/ttyUSB0', baudRate: 9600, parity: 'N', stopBits: 2, slaveID: 3 },
      'Device default/meter',
    );
    expect(endpointOf(p)).toEqual({
      kind: 'rtu',
      path: '/dev/ttyUSB0',
      baudRate: 9600,
      dataBits: 8,
      parity: 'none',
      stopBits: 2,
    });
  });

  it('names the missing serialPort of an RTU device', () => {
    const p = parseWithSchema(ModbusProtocolConfigSchema, { communicateMode: 'RTU' }, 'd');
    try {
      endpointOf(p, 'Device default/meter');
      expect.unreachable();
    } catch (err) {
      expect(isEdgeTwinError(err, 'ET_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain('/spec/protocol/configData/serialPort');
    }
  });

  it('rejects an unknown register table, naming the field', () => {
    expect(() =>
      parseWithSchema(ModbusVisitorConfigSchema, { register: 'Holding', offset: 1 }, 'property temperature'),
    ).toThrow(/property temperature: field \/register/);
  });

  it('fills visitor defaults: no scale, no swaps, no deadband', () => {
    const v = parseWithSchema(ModbusVisitorConfigSchema, { register: 'HoldingRegister', offset: 4 }, 'p');
    expect(v).toMatchObject({ scale: 1, valueOffset: 0, isSwap: false, isRegisterSwap: false, deadband: 0 });
  });
});

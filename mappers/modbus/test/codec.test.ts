import { describe, expect, it } from 'vitest';
import { parseConfigData, parseWithSchema, type PropertyType } from '@edgetwin/sdk';
import {
  ModbusProtocolConfigSchema,
  ModbusVisitorConfigSchema,
  decodeRegisters,
  endpointOf,
  encodeRegisters,
  valueSpec,
  type DataType,
} from '@edgetwin/mapper-modbus';

const spec = (v: Record<string, unknown>, type: PropertyType) =>
  valueSpec(parseWithSchema(ModbusVisitorConfigSchema, { register: 'HoldingRegister', offset: 0, ...v }, 'p'), type);

describe('codec', () => {
  const cases: [DataType, PropertyType, number | string][] = [
    ['int16', 'INT', -32768],
    ['uint16', 'INT', 65535],
    ['int32', 'INT', -2147483648],
    ['uint32', 'INT', 4294967295],
    ['int64', 'INT', -1234567890123],
    ['uint64', 'INT', 9007199254740991],
    ['float32', 'FLOAT', -1.5e-3],
    ['float64', 'DOUBLE', Math.PI],
    ['string', 'STRING', 'pump-7'],
  ];
  for (const swaps of [{}, { isSwap: true }, { isRegisterSwap: true }, { isSwap: true, isRegisterSwap: true }]) {
    it(`round-trips every data type with ${JSON.stringify(swaps)}`, () => {
      for (const [dataType, type, value] of cases) {
        const s = spec({ dataType, limit: 4, ...swaps }, type);
        expect(decodeRegisters(encodeRegisters(value, s), s), dataType).toBe(value);
      }
    });
  }

  it('puts bytes and words where each order says (0x11223344)', () => {
    const regs = (v: Record<string, unknown>) => encodeRegisters(0x11223344, spec({ dataType: 'uint32', ...v }, 'INT'));
    expect(regs({})).toEqual([0x1122, 0x3344]);
    expect(regs({ isRegisterSwap: true })).toEqual([0x3344, 0x1122]);
    expect(regs({ isSwap: true })).toEqual([0x2211, 0x4433]);
    expect(regs({ isSwap: true, isRegisterSwap: true })).toEqual([0x4433, 0x2211]);
  });

  it('applies scale and valueOffset on read and their inverse on write', () => {
    const s = spec({ dataType: 'int16', scale: 0.1, valueOffset: -40 }, 'FLOAT');
    expect(decodeRegisters([615], s)).toBe(21.5);
    expect(encodeRegisters(21.5, s)).toEqual([615]);
  });

  it("reads KubeEdge's dataType aliases the way KubeEdge's Modbus mappers do: unsigned, width from limit", () => {
    expect(spec({ dataType: 'int', limit: 2 }, 'INT').dataType).toBe('uint32');
    expect(spec({ dataType: 'int', limit: 1 }, 'INT').dataType).toBe('uint16');
    expect(spec({ dataType: 'int' }, 'INT').dataType).toBe('uint16');
    expect(spec({ dataType: 'float', limit: 2 }, 'FLOAT').count).toBe(2);
    expect(spec({ dataType: 'float' }, 'FLOAT').dataType).toBe('float32');
    expect(spec({}, 'DOUBLE').dataType).toBe('float64');
  });

  it("reads KubeEdge's temperature sample (float, limit 1, scale 0.1) as one register times scale", () => {
    const s = spec({ dataType: 'float', limit: 1, scale: 0.1 }, 'FLOAT');
    expect(s.count).toBe(1);
    expect(decodeRegisters([215], s)).toBe(21.5);
    expect(encodeRegisters(25.5, s)).toEqual([255]);
    expect(spec({ dataType: 'double', limit: 1 }, 'DOUBLE').count).toBe(1);
    // without a dataType, a FLOAT on one register is a signed 16-bit value times scale
    expect(decodeRegisters([0xffce], spec({ limit: 1, scale: 0.1 }, 'FLOAT'))).toBe(-5);
  });

  it('refuses values outside the raw range and strings longer than limit', () => {
    expect(() => encodeRegisters(-1, spec({ dataType: 'uint16' }, 'INT'))).toThrow(/outside 0\.\.65535/);
    expect(() => encodeRegisters('too long', spec({ dataType: 'string', limit: 2 }, 'STRING'))).toThrow(
      /longer than 4 bytes/,
    );
  });
});

describe("KubeEdge's configData spellings", () => {
  it('takes numbers written as strings (port: "5502") and serialName for the RTU serial device', () => {
    const p = parseConfigData(
      ModbusProtocolConfigSchema,
      { communicateMode: 'RTU', port: '5502', slaveID: '3', serialName: '/dev/ttyS1', baudRate: '9600' },
      'device default/t protocol configData',
    );
    expect(p.port).toBe(5502);
    expect(p.slaveID).toBe(3);
    expect(p.baudRate).toBe(9600);
    expect(endpointOf(p)).toMatchObject({ kind: 'rtu', path: '/dev/ttyS1', baudRate: 9600 });
  });

  it('still refuses a string that is no number, naming the field', () => {
    expect(() => parseConfigData(ModbusProtocolConfigSchema, { ip: 'h', port: 'fifty' }, 'device d')).toThrow(
      /device d: field \/port: Expected integer/,
    );
  });

  it('takes a null configData (a YAML key holding only a comment) as empty', () => {
    expect(parseConfigData(ModbusProtocolConfigSchema, null, 'd').port).toBe(502);
  });
});

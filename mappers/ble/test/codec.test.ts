import { describe, expect, it } from 'vitest';
import { isEdgeTwinError, parseWithSchema } from '@edgetwin/sdk';
import {
  BleVisitorConfigSchema,
  convertKubeEdge,
  decodeTyped,
  encodeTyped,
  propertyCodec,
  type BleVisitorConfig,
  type TypedCodec,
} from '@edgetwin/mapper-ble';

const codec = (c: Partial<TypedCodec> & Pick<TypedCodec, 'format'>): TypedCodec => ({
  byteOffset: 0,
  endianness: 'little',
  scale: 1,
  offset: 0,
  ...c,
});

const visitor = (v: Record<string, unknown>): BleVisitorConfig =>
  parseWithSchema(BleVisitorConfigSchema, { characteristicUUID: '2a6e', ...v }, 'test visitor');

const prop = (type: 'INT' | 'FLOAT' | 'STRING' | 'BOOLEAN' | 'BYTES', v: Record<string, unknown>) =>
  propertyCodec({ name: 'p', model: { type }, visitor: visitor(v) });

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('KubeEdge dataConverter', () => {
  it('concatenates the decimal digits of the byte range like KubeEdge, then shifts and computes', () => {
    // bytes 1..2 = [0x00, 0x01] -> "0" + "1" -> 1, << 1 -> 2
    expect(convertKubeEdge({ startIndex: 1, endIndex: 2, shiftLeft: 1 }, Buffer.from([3, 0, 1]))).toBe(2);
    // [0x01, 0x0c] -> "1" + "12" -> 112
    expect(convertKubeEdge({ startIndex: 0, endIndex: 1 }, Buffer.from([0x01, 0x0c]))).toBe(112);
  });

  it('reads the range backwards when startIndex is above endIndex', () => {
    expect(convertKubeEdge({ startIndex: 2, endIndex: 1 }, Buffer.from([9, 3, 4]))).toBe(43);
  });

  it('shifts right only when shiftLeft is not set, and applies operations in order', () => {
    const data = Buffer.from([0, 1, 2, 3]); // "0123" -> 123
    expect(convertKubeEdge({ startIndex: 0, endIndex: 3, shiftRight: 2 }, data)).toBe(30);
    expect(
      convertKubeEdge(
        {
          startIndex: 0,
          endIndex: 3,
          orderOfOperations: [
            { operationType: 'Add', operationValue: 7 },
            { operationType: 'multiply', operationValue: '0.5' },
            { operationType: 'SUBTRACT', operationValue: 5 },
            { operationType: 'Divide', operationValue: 4 },
          ],
        },
        data,
      ),
    ).toBe(15); // ((123 + 7) * 0.5 - 5) / 4
  });

  it('a byte range past the end of the value is an ET_PROTOCOL error naming the bytes', () => {
    const err = thrown(() => convertKubeEdge({ startIndex: 1, endIndex: 3 }, Buffer.from([1, 2])));
    expect(isEdgeTwinError(err, 'ET_PROTOCOL')).toBe(true);
    expect(err.message).toContain('bytes 1..3');
    expect(err.message).toContain('sent 2 byte(s) (0102)');
  });

  it('operation types outside Add/Subtract/Multiply/Divide are rejected by the schema', () => {
    expect(() =>
      visitor({ dataConverter: { orderOfOperations: [{ operationType: 'Modulo', operationValue: 2 }] } }),
    ).toThrow(/operationType/);
  });
});

describe('typed codec', () => {
  it('reads signed values as signed and unsigned as unsigned', () => {
    const data = Buffer.from([0xfe, 0xff]);
    expect(decodeTyped(codec({ format: 'int16' }), data)).toEqual({ kind: 'number', value: -2 });
    expect(decodeTyped(codec({ format: 'uint16' }), data)).toEqual({ kind: 'number', value: 65534 });
    expect(decodeTyped(codec({ format: 'int8', byteOffset: 1 }), data)).toEqual({ kind: 'number', value: -1 });
  });

  it('honours the byte order', () => {
    const data = Buffer.from([0x01, 0x02, 0x03, 0x04]);
    expect(decodeTyped(codec({ format: 'uint16', endianness: 'big' }), data).value).toBe(0x0102);
    expect(decodeTyped(codec({ format: 'uint16', endianness: 'little' }), data).value).toBe(0x0201);
    expect(decodeTyped(codec({ format: 'int32', endianness: 'big' }), data).value).toBe(0x01020304);
    expect(encodeTyped(codec({ format: 'uint32', endianness: 'big' }), 0x01020304)).toEqual(data);
  });

  it('applies scale and offset both ways and shows float32 without binary noise', () => {
    const temp = codec({ format: 'int16', scale: 0.01, offset: -40 });
    expect(decodeTyped(temp, Buffer.from([0x53, 0x18])).value).toBe(22.27); // 6227 * 0.01 - 40
    expect(encodeTyped(temp, 22.27)).toEqual(Buffer.from([0x53, 0x18]));
    const f = Buffer.alloc(4);
    f.writeFloatLE(21.3);
    expect(decodeTyped(codec({ format: 'float32' }), f).value).toBe(21.3);
  });

  it('an offset past the end is an ET_PROTOCOL error that says how many bytes came', () => {
    const err = thrown(() => decodeTyped(codec({ format: 'uint16', byteOffset: 3 }), Buffer.from([1, 2, 3, 4])));
    expect(isEdgeTwinError(err, 'ET_PROTOCOL')).toBe(true);
    expect(err.message).toMatch(/uint16 \(2 bytes\) at byte 3 .* sent 4 byte\(s\)/);
    expect(() => decodeTyped(codec({ format: 'uint8' }), Buffer.alloc(0))).toThrow(/sent 0 byte\(s\) \(empty\)/);
  });

  it('a value that does not fit the format is refused before anything is written', () => {
    const err = thrown(() => encodeTyped(codec({ format: 'uint8' }), 300));
    expect(isEdgeTwinError(err, 'ET_BAD_VALUE')).toBe(true);
    expect(err.message).toContain('does not fit uint8 (0..255)');
    expect(() => encodeTyped(codec({ format: 'int8' }), -129)).toThrow(/int8/);
  });
});

describe('property codec', () => {
  it('dataWrite turns a desired value into its bytes and the bytes read back into the key', () => {
    const c = prop('STRING', { dataWrite: { ON: [1], OFF: 'AA==' } });
    expect(c.encode('ON')).toEqual(Buffer.from([1]));
    expect(c.encode('OFF')).toEqual(Buffer.from([0]));
    expect(c.decode(Buffer.from([1]))).toBe('ON');
    expect(c.decode(Buffer.from([0]))).toBe('OFF');
  });

  it('a desired value missing from dataWrite names the accepted values', () => {
    const err = thrown(() => prop('STRING', { dataWrite: { ON: [1], OFF: [0] } }).encode('BLINK'));
    expect(isEdgeTwinError(err, 'ET_BAD_VALUE')).toBe(true);
    expect(err.message).toContain('set one of "ON", "OFF"');
  });

  it('numeric dataWrite keys match numerically', () => {
    expect(prop('INT', { dataWrite: { '1': [0x10], '2': [0x20] } }).encode(2)).toEqual(Buffer.from([0x20]));
  });

  it('codec wins over dataConverter, and the result takes the property type', () => {
    const both = prop('INT', { codec: { format: 'uint16' }, dataConverter: { startIndex: 0, endIndex: 0 } });
    expect(both.decode(Buffer.from([0x10, 0x01]))).toBe(272);
    expect(prop('BOOLEAN', { codec: { format: 'uint8' } }).decode(Buffer.from([2]))).toBe(true);
    expect(prop('INT', { codec: { format: 'float32' } }).decode(Buffer.from([0, 0, 0x20, 0x41]))).toBe(10);
    expect(
      prop('FLOAT', {
        dataConverter: {
          startIndex: 0,
          endIndex: 0,
          orderOfOperations: [{ operationType: 'Divide', operationValue: 4 }],
        },
      }).decode(Buffer.from([9])),
    ).toBe(2.25);
  });

  it('without a decoder: text for STRING, base64 for BYTES, the first byte for numbers', () => {
    expect(prop('STRING', {}).decode(Buffer.from('hello'))).toBe('hello');
    expect(prop('BYTES', {}).decode(Buffer.from([1, 2, 3]))).toBe('AQID');
    expect(prop('INT', {}).decode(Buffer.from([42, 7]))).toBe(42);
    expect(prop('BYTES', {}).encode('AQID')).toEqual(Buffer.from([1, 2, 3]));
  });

  it('a number too big for one byte needs a codec to be written', () => {
    const err = thrown(() => prop('INT', {}).encode(1000));
    expect(isEdgeTwinError(err, 'ET_CONFIG_INVALID')).toBe(true);
    expect(err.message).toContain('add a codec');
    expect(prop('INT', { codec: { format: 'int16', endianness: 'big' } }).encode(1000)).toEqual(
      Buffer.from([0x03, 0xe8]),
    );
  });
});

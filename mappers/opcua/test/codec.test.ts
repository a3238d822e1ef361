/** The value codec on its own: 64-bit words, type conversions, StatusCodes. */
import { describe, expect, it } from 'vitest';
import { DataType, DataValue, StatusCodes, Variant, VariantArrayType } from 'node-opcua';
import { fromVariant, toReading, toVariant } from '@edgetwin/mapper-opcua';

describe('codec', () => {
  it('Int64 round-trips negative values through [high, low] words', () => {
    const v = toVariant(DataType.Int64, -5_000_000_000);
    expect(fromVariant('INT', v)).toBe(-5_000_000_000);
  });

  it('a UInt64 beyond the safe integer range does not fit an INT property', () => {
    const v = new Variant({
      dataType: DataType.UInt64,
      arrayType: VariantArrayType.Scalar,
      value: [0xffffffff, 0xffffffff],
    });
    expect(() => fromVariant('INT', v)).toThrow(/UInt64/);
    expect(fromVariant('STRING', v)).toBe('18446744073709551615');
  });

  it('a Bad StatusCode without a value is an ET_PROTOCOL error with the status', () => {
    const dv = new DataValue({ statusCode: StatusCodes.BadSensorFailure });
    expect(toReading('DOUBLE', dv, 'ns=2;s=X')).toMatchObject({
      code: 'ET_PROTOCOL',
      details: { status: 'BadSensorFailure', nodeId: 'ns=2;s=X' },
    });
  });

  it('a good value has no quality and carries the source timestamp', () => {
    const t = new Date('2026-01-02T03:04:05Z');
    const dv = new DataValue({ value: { dataType: DataType.Float, value: 2.5 }, sourceTimestamp: t });
    expect(toReading('FLOAT', dv, 'n')).toEqual({ value: 2.5, sourceTime: t.getTime() });
  });

  it('BYTES properties travel as base64', () => {
    expect(fromVariant('BYTES', new Variant({ dataType: DataType.ByteString, value: Buffer.from('hi') }))).toBe('aGk=');
    expect(toVariant(DataType.ByteString, 'aGk=').value).toEqual(Buffer.from('hi'));
  });

  it('non-numeric text is refused for a Double node', () => {
    expect(() => toVariant(DataType.Double, 'warm')).toThrow(/not a number/);
  });
});

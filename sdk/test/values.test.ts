import { describe, expect, it } from 'vitest';
import { checkRange, coerceValue, valuesEqual, validateDesired, isEdgeTwinError } from '@edgetwin/sdk';

describe('typed twin values', () => {
  it('coerces wire strings to the property type', () => {
    expect(coerceValue('INT', '23')).toBe(23);
    expect(coerceValue('FLOAT', '1.5')).toBe(1.5);
    expect(coerceValue('BOOLEAN', 'true')).toBe(true);
    expect(coerceValue('STRING', 'on')).toBe('on');
  });

  it('rejects values that do not fit, saying what was expected', () => {
    expect(() => coerceValue('INT', '1.5')).toThrow(/integer/);
    expect(() => coerceValue('INT', 'abc')).toThrow(/expected an integer \(INT\), got "abc"/);
    expect(() => coerceValue('BOOLEAN', 1)).toThrow(/boolean/);
  });

  it('compares numbers by value: "1", 1 and 1.0 are equal', () => {
    expect(valuesEqual('INT', '1', 1)).toBe(true);
    expect(valuesEqual('FLOAT', '1.0', 1)).toBe(true);
    expect(valuesEqual('FLOAT', '1.5', 1)).toBe(false);
  });

  it('enforces minimum and maximum and ReadOnly for desired values', () => {
    expect(() => checkRange({ type: 'INT', minimum: '0', maximum: '100' }, 101)).toThrow(/above the maximum 100/);
    try {
      validateDesired({ name: 't', type: 'INT', accessMode: 'ReadOnly' }, 1);
      expect.unreachable();
    } catch (err) {
      expect(isEdgeTwinError(err, 'ET_READ_ONLY')).toBe(true);
    }
  });
});

/**
 * KubeEdge's `dataWrite`: a map from a desired value (as its string form, e.g. "ON") to the bytes
 * written to the characteristic. Values are arrays of byte numbers, or base64 strings (how Go
 * marshals []byte). Reads that return one of the mapped byte strings report its key.
 */
import { EdgeTwinError, formatValue, valuesEqual, type PropertyType, type TwinValue } from '@edgetwin/sdk';

export type DataWrite = Record<string, number[] | string>;

export function dataWriteBytes(entry: number[] | string): Buffer {
  return typeof entry === 'string' ? Buffer.from(entry, 'base64') : Buffer.from(entry);
}

/** The bytes for `value`, or undefined when the map has no key for it. */
export function lookupDataWrite(map: DataWrite, type: PropertyType, value: TwinValue): Buffer | undefined {
  const exact = map[formatValue(value)];
  if (exact !== undefined) return dataWriteBytes(exact);
  for (const [key, entry] of Object.entries(map)) {
    if (valuesEqual(type, key, value)) return dataWriteBytes(entry);
  }
  return undefined;
}

/** The key whose bytes equal `data`, or undefined. */
export function reverseDataWrite(map: DataWrite, data: Buffer): string | undefined {
  for (const [key, entry] of Object.entries(map)) {
    if (dataWriteBytes(entry).equals(data)) return key;
  }
  return undefined;
}

export function noDataWriteKey(property: string, map: DataWrite, value: TwinValue): EdgeTwinError {
  const keys = Object.keys(map);
  return new EdgeTwinError(
    'ET_BAD_VALUE',
    `property ${property}: dataWrite has no entry for ${JSON.stringify(formatValue(value))}; set one of ${keys.map((k) => JSON.stringify(k)).join(', ')} or add the value to dataWrite`,
    { details: { property, got: value, accepted: keys } },
  );
}

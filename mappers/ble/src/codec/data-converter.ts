/**
 * KubeEdge's bluetooth `dataConverter`, kept for YAML compatibility. Semantics (as in KubeEdge's
 * mapper): take the bytes from `startIndex` to `endIndex` inclusive (backwards when start > end),
 * write each byte as a DECIMAL number and concatenate the digits ([0x01, 0x0c] -> "112"), parse that
 * as an unsigned 64-bit integer, shift left by `shiftLeft` when it is set, otherwise right by
 * `shiftRight`, then apply `orderOfOperations` in order. Prefer the typed `codec` for new devices.
 */
import { EdgeTwinError } from '@edgetwin/sdk';
import type { DataConverter } from '../config.js';

const U64 = (1n << 64n) - 1n;

export function convertKubeEdge(conv: DataConverter, data: Buffer): number {
  const { startIndex, endIndex } = conv;
  const last = Math.max(startIndex, endIndex);
  if (last >= data.length) {
    throw new EdgeTwinError(
      'ET_PROTOCOL',
      `dataConverter reads bytes ${startIndex}..${endIndex} but the characteristic sent ${data.length} byte(s) (${data.toString('hex') || 'empty'}); fix startIndex/endIndex or use a typed codec`,
      { details: { bytes: data.toString('hex'), startIndex, endIndex } },
    );
  }
  const step = startIndex <= endIndex ? 1 : -1;
  let digits = '';
  for (let i = startIndex; ; i += step) {
    digits += String(data[i]);
    if (i === endIndex) break;
  }
  let raw = BigInt(digits);
  if (raw > U64) {
    throw new EdgeTwinError(
      'ET_PROTOCOL',
      `dataConverter: the digits "${digits}" of bytes ${startIndex}..${endIndex} do not fit 64 bits; use fewer bytes or a typed codec`,
      { details: { bytes: data.toString('hex'), startIndex, endIndex } },
    );
  }
  if (conv.shiftLeft) raw = (raw << BigInt(conv.shiftLeft)) & U64;
  else if (conv.shiftRight) raw = raw >> BigInt(conv.shiftRight);
  let value = Number(raw);
  for (const op of conv.orderOfOperations ?? []) {
    const operand = Number(op.operationValue);
    switch (op.operationType.toLowerCase()) {
      case 'add':
        value += operand;
        break;
      case 'subtract':
        value -= operand;
        break;
      case 'multiply':
        value *= operand;
        break;
      case 'divide':
        value /= operand;
        break;
    }
  }
  return value;
}

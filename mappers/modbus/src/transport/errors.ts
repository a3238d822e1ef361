/**
 * modbus-serial's failures -> EdgeTwinError with the Modbus status as data:
 * exceptions become ET_PROTOCOL, unanswered requests ET_TIMEOUT, a closed port ET_UNAVAILABLE.
 */
import { EdgeTwinError } from '@edgetwin/sdk';

export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'Illegal function',
  2: 'Illegal data address',
  3: 'Illegal data value',
  4: 'Slave device failure',
  5: 'Acknowledge',
  6: 'Slave device busy',
  8: 'Memory parity error',
  10: 'Gateway path unavailable',
  11: 'Gateway target device failed to respond',
};

/** Exception names as status codes (`details.status`): what a write outcome's `code` says. */
export const EXCEPTION_STATUS: Readonly<Record<number, string>> = {
  1: 'IllegalFunction',
  2: 'IllegalDataAddress',
  3: 'IllegalDataValue',
  4: 'SlaveDeviceFailure',
  5: 'Acknowledge',
  6: 'SlaveDeviceBusy',
  8: 'MemoryParityError',
  10: 'GatewayPathUnavailable',
  11: 'GatewayTargetDeviceFailedToRespond',
};

const HINTS: Readonly<Record<number, string>> = {
  1: 'the device does not support this function; for writes try visitor writeMultiple: true',
  2: "check the visitor's register, offset and limit against the device's register map",
  3: 'the device refused the value or the count; check dataType and limit',
};

export interface RequestInfo {
  slaveId: number;
  /** Modbus function code. */
  function: number;
  address: number;
}

interface ModbusSerialError {
  message?: unknown;
  name?: unknown;
  errno?: unknown;
  modbusCode?: unknown;
}

export function isTimeout(err: unknown): boolean {
  const e = err as ModbusSerialError | null;
  return !!e && (e.name === 'TransactionTimedOutError' || e.errno === 'ETIMEDOUT');
}

export function isPortClosed(err: unknown): boolean {
  const e = err as ModbusSerialError | null;
  return !!e && (e.message === 'Port Not Open' || e.errno === 'ECONNREFUSED');
}

export function toEdgeTwinError(err: unknown, req: RequestInfo, timeoutMs: number): EdgeTwinError {
  if (err instanceof EdgeTwinError) return err;
  const e = (err ?? {}) as ModbusSerialError;
  const where = `slave ${req.slaveId}, function ${req.function}, address ${req.address}`;
  if (typeof e.modbusCode === 'number') {
    const code = e.modbusCode;
    const name = EXCEPTION_NAMES[code] ?? 'Unknown exception';
    const hint = HINTS[code] ? `: ${HINTS[code]}` : '';
    return new EdgeTwinError('ET_PROTOCOL', `Modbus exception ${code} (${name}) from ${where}${hint}`, {
      cause: err,
      details: { ...req, exceptionCode: code, status: EXCEPTION_STATUS[code] ?? `ModbusException${code}` },
    });
  }
  if (isTimeout(err)) {
    return new EdgeTwinError(
      'ET_TIMEOUT',
      `no answer within ${timeoutMs} ms from ${where}: check that the slave is powered, its slaveID and the wiring (or raise protocol timeout)`,
      { cause: err, details: { ...req, exceptionCode: undefined } },
    );
  }
  if (isPortClosed(err)) {
    return new EdgeTwinError('ET_UNAVAILABLE', `the Modbus connection is closed (${where}); it will be reopened`, {
      cause: err,
      details: { ...req, exceptionCode: undefined },
    });
  }
  const message = typeof e.message === 'string' ? e.message : String(err);
  return new EdgeTwinError('ET_PROTOCOL', `bad Modbus answer from ${where}: ${message}`, {
    cause: err,
    details: { ...req, exceptionCode: undefined },
  });
}

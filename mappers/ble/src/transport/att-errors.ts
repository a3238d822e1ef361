/**
 * ATT Error Responses (Bluetooth Core spec, Vol 3 Part F, 3.4.1.1) as errors the mapper can
 * report. noble drops them (its write callback only reacts to a Write Response), so each kind of
 * bindings gets an adapter that reports them on an `AttErrorSource` (an emitter of 'attError'
 * events): `gatt-att-hook.ts` for noble's hci-socket Gatt (real radios), `websocket-att.ts` for
 * noble's websocket bindings talking to our simulator, and `SimBindings` itself in process.
 * A session waits for its read or write through `withAttErrors`, which rejects with
 * `ET_PROTOCOL` and `details.status` = the error's spec name when the peripheral answers with one.
 */
import { EdgeTwinError } from '@edgetwin/sdk';

/** The event every ATT error adapter emits, with an `AttErrorReport`. */
export const ATT_ERROR_EVENT = 'attError';

/** One ATT Error Response as the peripheral sent it (opcode 0x01). */
export interface AttErrorReport {
  /** noble's peripheral id (the address without colons, lower case, on Linux). */
  peripheralUuid: string;
  serviceUuid: string;
  characteristicUuid: string;
  /** The request the peripheral refused: 0x12 Write Request, 0x0A Read Request, ... */
  requestOpcode: number;
  /** The attribute handle in error (0 when the bindings do not know it). */
  handle: number;
  /** The ATT error code. */
  code: number;
}

/** What a session listens on; an EventEmitter that emits `ATT_ERROR_EVENT`. */
export interface AttErrorSource {
  on(event: typeof ATT_ERROR_EVENT, listener: (report: AttErrorReport) => void): unknown;
  removeListener(event: typeof ATT_ERROR_EVENT, listener: (report: AttErrorReport) => void): unknown;
}

/** ATT request opcodes that write (Write, Prepare Write, Execute Write) and read (Read, Read Blob). */
export const ATT_WRITE_REQUESTS: readonly number[] = [0x12, 0x16, 0x18];
export const ATT_READ_REQUESTS: readonly number[] = [0x0a, 0x0c];

/** Core spec names, without spaces, as the twin shows them (`write.code`, `deviceCode`). */
const NAMES: Readonly<Record<number, string>> = {
  0x01: 'InvalidHandle',
  0x02: 'ReadNotPermitted',
  0x03: 'WriteNotPermitted',
  0x04: 'InvalidPDU',
  0x05: 'InsufficientAuthentication',
  0x06: 'RequestNotSupported',
  0x07: 'InvalidOffset',
  0x08: 'InsufficientAuthorization',
  0x09: 'PrepareQueueFull',
  0x0a: 'AttributeNotFound',
  0x0b: 'AttributeNotLong',
  0x0c: 'EncryptionKeySizeTooShort',
  0x0d: 'InvalidAttributeValueLength',
  0x0e: 'Unlikely',
  0x0f: 'InsufficientEncryption',
  0x10: 'UnsupportedGroupType',
  0x11: 'InsufficientResources',
  0x12: 'DatabaseOutOfSync',
  0x13: 'ValueNotAllowed',
  // Common Profile and Service Error Codes (Core Specification Supplement, Part B).
  0xfc: 'WriteRequestRejected',
  0xfd: 'CCCDImproperlyConfigured',
  0xfe: 'ProcedureAlreadyInProgress',
  0xff: 'OutOfRange',
};

/** What an operator can do about the common refusals. */
const HINTS: Readonly<Record<number, string>> = {
  0x03: 'the peripheral does not let centrals write it; make the property ReadOnly',
  0x02: 'the peripheral does not let centrals read it',
  0x05: 'the peripheral wants an authenticated (paired) link; pair and bond it with this adapter',
  0x08: 'the peripheral did not authorize this central; grant it on the peripheral',
  0x0f: 'the peripheral wants an encrypted link; pair and bond it with this adapter',
  0x0d: 'the value has a length the peripheral does not accept; check the codec format',
  0x13: 'the peripheral does not accept this value',
};

const hex = (n: number, width = 2): string => `0x${n.toString(16).toUpperCase().padStart(width, '0')}`;

/** The spec name of an ATT error code: `InsufficientAuthentication`, `ApplicationError0x80`, ... */
export function attErrorName(code: number): string {
  const known = NAMES[code];
  if (known !== undefined) return known;
  if (code >= 0x80 && code <= 0x9f) return `ApplicationError${hex(code)}`;
  return `ReservedError${hex(code)}`;
}

/** The error a refused read or write of `property` becomes: ET_PROTOCOL, `details.status` = the spec name. */
export function attError(property: string, mac: string, r: AttErrorReport): EdgeTwinError {
  const name = attErrorName(r.code);
  const op = ATT_WRITE_REQUESTS.includes(r.requestOpcode) ? 'write' : 'read';
  const hint = HINTS[r.code];
  return new EdgeTwinError(
    'ET_PROTOCOL',
    `property ${property}: peripheral ${mac} refused the ${op} of characteristic ${r.characteristicUuid} with ATT error ${hex(r.code)} ${name}${hint === undefined ? '' : ` (${hint})`}`,
    {
      details: {
        property,
        macAddress: mac,
        status: name,
        attErrorCode: r.code,
        attRequestOpcode: r.requestOpcode,
        attHandle: r.handle,
      },
    },
  );
}

export interface AttTarget {
  property: string;
  mac: string;
  peripheralUuid: string;
  serviceUuid: string;
  characteristicUuid: string;
  op: 'read' | 'write';
}

/**
 * Runs `start` (noble's readAsync/writeAsync) and settles with it, unless `source` reports an ATT
 * error for the same characteristic and kind of request first: then rejects with `attError`.
 * Without a source (bindings that cannot report them) it is `start()` alone.
 */
export function withAttErrors<T>(
  source: AttErrorSource | undefined,
  t: AttTarget,
  start: () => Promise<T>,
): Promise<T> {
  if (!source) return start();
  const requests = t.op === 'write' ? ATT_WRITE_REQUESTS : ATT_READ_REQUESTS;
  return new Promise<T>((resolve, reject) => {
    const listener = (r: AttErrorReport): void => {
      if (
        r.peripheralUuid !== t.peripheralUuid ||
        r.serviceUuid !== t.serviceUuid ||
        r.characteristicUuid !== t.characteristicUuid ||
        !requests.includes(r.requestOpcode)
      ) {
        return;
      }
      source.removeListener(ATT_ERROR_EVENT, listener);
      reject(attError(t.property, t.mac, r));
    };
    source.on(ATT_ERROR_EVENT, listener);
    start().then(
      (v) => {
        source.removeListener(ATT_ERROR_EVENT, listener);
        resolve(v);
      },
      (err: unknown) => {
        source.removeListener(ATT_ERROR_EVENT, listener);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

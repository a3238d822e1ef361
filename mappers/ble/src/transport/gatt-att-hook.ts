/**
 * ATT Error Responses from real radios: a hook into noble's hci-socket `Gatt` class
 * (@abandonware/noble/lib/hci-socket/gatt.js, written against 1.9.2-26).
 *
 * noble queues each ATT request with `_queueCommand(buffer, callback)` and hands the response
 * bytes to that callback; `Gatt.prototype.write`'s callback only emits 'write' on a Write Response
 * and `read`'s turns an error into an empty value. The hook wraps `write` and `read` so that, for
 * the duration of the call, the callbacks they queue first look at the response: an Error Response
 * (opcode 0x01, request opcode, handle, error code) is reported as an `AttErrorReport` on every
 * registered source, then noble's callback runs unchanged (its queue goes on as before). A long
 * write's Prepare/Execute Write requests are queued inside `write` and covered; a read's Read Blob
 * continuation is queued later and is not (AttributeNotLong there just means "no more bytes").
 *
 * Authentication, authorization and encryption errors (0x05, 0x08, 0x0F) on a link that is not
 * encrypted yet never reach that callback: noble starts pairing instead and, when pairing fails,
 * does nothing (the request would wait forever). The hook remembers such an error and, on
 * 'encryptFail', lets noble deliver it to the callback as it would on an encrypted link.
 *
 * The internals it relies on are checked when it is installed, by driving a probe `Gatt` through a
 * write answered with an Error Response; when they changed, installing throws ET_INTERNAL.
 */
import { EventEmitter } from 'node:events';
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { ATT_ERROR_EVENT, type AttErrorReport } from './att-errors.js';

/** The noble release the hook was written and tested against. */
export const HOOKED_NOBLE_VERSION = '1.9.2-26';

const ATT_CID = 0x0004;
const ATT_OP_ERROR = 0x01;
const ENCRYPTION_ERRORS: readonly number[] = [0x05, 0x08, 0x0f];
/** Responses have odd opcodes; notifications (0x1B) and indications (0x1D) are not responses. */
const RESPONSE = (opcode: number): boolean => opcode % 2 === 1 && opcode !== 0x1b && opcode !== 0x1d;

type ResponseCallback = (data: Buffer) => void;
type QueueCommand = (buffer: Buffer, callback?: ResponseCallback | null, writeCallback?: () => void) => void;

/** The parts of noble's Gatt the hook touches. */
interface GattInternals extends EventEmitter {
  _address: string;
  _security: string;
  _currentCommand: { buffer: Buffer; callback?: ResponseCallback | null } | null;
  _characteristics: Record<string, Record<string, { valueHandle: number }>>;
  _queueCommand: QueueCommand;
  // Properties, not methods: the hook takes them off the prototype and calls them with `this`.
  write: (this: GattInternals, serviceUuid: string, characteristicUuid: string, data: Buffer, noResp: boolean) => void;
  read: (this: GattInternals, serviceUuid: string, characteristicUuid: string) => void;
  onAclStreamData: (this: GattInternals, cid: number, data: Buffer) => void;
  onAclStreamEncryptFail: (this: GattInternals) => void;
}

/** An ACL stream as noble's Gatt uses it (lib/hci-socket/acl-stream.js). */
export interface GattAclStream extends EventEmitter {
  write(cid: number, data: Buffer): void;
  encrypt(): void;
}

export type GattClass = new (address: string, aclStream: GattAclStream) => GattInternals;

const STATE = Symbol.for('@edgetwin/mapper-ble:gatt-att-hook');
const PENDING = Symbol.for('@edgetwin/mapper-ble:pending-encryption-error');

interface HookState {
  sinks: Set<EventEmitter>;
}

type HookedPrototype = GattInternals & { [STATE]?: HookState };
type HookedGatt = GattInternals & { [PENDING]?: Buffer };

const REQUIRED = ['write', 'read', '_queueCommand', 'onAclStreamData', 'onAclStreamEncryptFail'] as const;

function broken(what: string, cause?: unknown): EdgeTwinError {
  return new EdgeTwinError(
    'ET_INTERNAL',
    `noble's hci-socket Gatt (@abandonware/noble/lib/hci-socket/gatt.js) ${what}; the ATT error hook (mappers/ble/src/transport/gatt-att-hook.ts) was written for noble ${HOOKED_NOBLE_VERSION}: install that version or update the hook`,
    cause === undefined
      ? { details: { expected: HOOKED_NOBLE_VERSION } }
      : { cause, details: { expected: HOOKED_NOBLE_VERSION } },
  );
}

function report(
  state: HookState,
  gatt: GattInternals,
  serviceUuid: string,
  characteristicUuid: string,
  data: Buffer,
): void {
  if (data[0] !== ATT_OP_ERROR || data.length < 5) return;
  const r: AttErrorReport = {
    peripheralUuid: gatt._address.split(':').join('').toLowerCase(),
    serviceUuid,
    characteristicUuid,
    requestOpcode: data.readUInt8(1),
    handle: data.readUInt16LE(2),
    code: data.readUInt8(4),
  };
  for (const sink of state.sinks) sink.emit(ATT_ERROR_EVENT, r);
}

/** `original` with the callbacks it queues reporting Error Responses first. */
function capturing<A extends unknown[]>(
  state: HookState,
  original: (this: GattInternals, serviceUuid: string, characteristicUuid: string, ...rest: A) => void,
) {
  return function (this: GattInternals, serviceUuid: string, characteristicUuid: string, ...rest: A): void {
    const queue = this._queueCommand;
    const own = Object.prototype.hasOwnProperty.call(this, '_queueCommand');
    this._queueCommand = function (buffer, callback, writeCallback) {
      const seen =
        typeof callback === 'function'
          ? (data: Buffer) => {
              report(state, this, serviceUuid, characteristicUuid, data);
              callback(data);
            }
          : callback;
      queue.call(this, buffer, seen, writeCallback);
    };
    try {
      original.call(this, serviceUuid, characteristicUuid, ...rest);
    } finally {
      if (own) this._queueCommand = queue;
      else delete (this as Partial<GattInternals>)._queueCommand;
    }
  };
}

/** Wraps the prototype's methods; returns what puts the originals back. */
function patch(proto: HookedPrototype, state: HookState): () => void {
  const { write, read, onAclStreamData, onAclStreamEncryptFail } = proto;
  proto.write = capturing(state, write);
  proto.read = capturing(state, read);
  // Both are bound in Gatt's constructor, so Gatts created after this (at each connect) use them.
  proto.onAclStreamData = function (this: HookedGatt, cid: number, data: Buffer): void {
    const pendingRequest =
      cid === ATT_CID && data[0] === ATT_OP_ERROR && data.length >= 5 && this._currentCommand !== null;
    if (pendingRequest && ENCRYPTION_ERRORS.includes(data.readUInt8(4)) && this._security !== 'medium') {
      this[PENDING] = Buffer.from(data); // noble now starts pairing and holds the request
    } else if (pendingRequest || (cid === ATT_CID && data[0] !== undefined && RESPONSE(data[0]))) {
      delete this[PENDING]; // the held request got its answer after pairing
    }
    onAclStreamData.call(this, cid, data);
  };
  proto.onAclStreamEncryptFail = function (this: HookedGatt): void {
    onAclStreamEncryptFail.call(this);
    const pending = this[PENDING];
    delete this[PENDING];
    if (!pending || this._currentCommand === null) return;
    // Pairing failed: hand noble the error it held back, as it would on an encrypted link.
    const security = this._security;
    this._security = 'medium';
    try {
      onAclStreamData.call(this, ATT_CID, pending);
    } finally {
      this._security = security;
    }
  };
  proto[STATE] = state;
  return () => {
    Object.assign(proto, { write, read, onAclStreamData, onAclStreamEncryptFail });
    delete proto[STATE];
  };
}

class ProbeStream extends EventEmitter implements GattAclStream {
  readonly written: Buffer[] = [];
  write(_cid: number, data: Buffer): void {
    this.written.push(Buffer.from(data));
  }
  encrypt(): void {
    // the probe never pairs
  }
}

/** Drives a probe Gatt through a refused write; throws when the hook does not see the error. */
function probe(Gatt: GattClass, state: HookState): void {
  const sink = new EventEmitter();
  const seen: AttErrorReport[] = [];
  sink.on(ATT_ERROR_EVENT, (r: AttErrorReport) => seen.push(r));
  state.sinks.add(sink);
  const stream = new ProbeStream();
  try {
    const gatt = new Gatt('00:00:00:00:00:00', stream);
    gatt._characteristics = { probe: { probe: { valueHandle: 0x0003 } } };
    gatt.write('probe', 'probe', Buffer.from([0x2a]), false);
    const sent = stream.written[0]?.toString('hex');
    if (sent !== '1203002a') throw broken(`sent ${sent ?? 'nothing'} for a Write Request (expected 1203002a)`);
    stream.emit('data', ATT_CID, Buffer.from([ATT_OP_ERROR, 0x12, 0x03, 0x00, 0x03]));
    if (seen.length !== 1 || seen[0]?.code !== 0x03 || seen[0].handle !== 0x0003) {
      throw broken("did not hand a Write Request's Error Response to the request's callback");
    }
    if (gatt._currentCommand !== null) throw broken('kept the refused request as current');
  } catch (err) {
    throw err instanceof EdgeTwinError ? err : broken(`failed the probe write (${errorMessage(err)})`, err);
  } finally {
    stream.emit('end');
    state.sinks.delete(sink);
  }
}

export interface GattAttHook {
  /** Emits `ATT_ERROR_EVENT` for every Error Response to a read or write of any hci-socket Gatt. */
  source: EventEmitter;
  /** Stops reporting to `source` (the prototype stays wrapped; other sources may use it). */
  release(): void;
}

/**
 * Installs the hook on noble's Gatt class (once per process; later calls add a source) and
 * probes it. Throws ET_INTERNAL when noble's internals are not the ones the hook relies on.
 */
export function hookGattAttErrors(Gatt: GattClass): GattAttHook {
  const proto = Gatt.prototype as HookedPrototype;
  for (const name of REQUIRED) {
    if (typeof proto[name] !== 'function') throw broken(`has no function ${name}`);
  }
  let state = proto[STATE];
  if (!state) {
    state = { sinks: new Set() };
    const unpatch = patch(proto, state);
    try {
      probe(Gatt, state);
    } catch (err) {
      unpatch();
      throw err;
    }
  }
  const source = new EventEmitter();
  source.setMaxListeners(0); // one listener per pending read or write, of every device
  const sinks = state.sinks;
  sinks.add(source);
  return { source, release: () => sinks.delete(source) };
}

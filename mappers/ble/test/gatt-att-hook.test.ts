/**
 * The ATT error hook on noble's real hci-socket Gatt class (the code that runs with a radio),
 * driven by an ACL stream in the test that plays the peripheral: it receives the exact request
 * bytes noble sends and answers with ATT PDUs, Error Responses included. No radio exists here:
 * the HCI socket and the controller below the ACL stream are the part not exercised.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeTwinError } from '@edgetwin/sdk';
import { ATT_ERROR_EVENT, attErrorName, withAttErrors, type AttErrorReport } from '../src/transport/att-errors.js';
import {
  hookGattAttErrors,
  type GattAclStream,
  type GattAttHook,
  type GattClass,
} from '../src/transport/gatt-att-hook.js';

const require = createRequire(import.meta.url);
const Gatt = require('@abandonware/noble/lib/hci-socket/gatt.js') as GattClass;
const ATT_CID = 0x0004;
const ADDRESS = 'aa:bb:cc:dd:ee:01';

/** The peripheral's end of the ACL link: records what noble sends, answers with ATT PDUs. */
class PeripheralLink extends EventEmitter implements GattAclStream {
  readonly sent: string[] = [];
  encryptRequests = 0;
  /** What pairing does when noble asks for it. */
  pairing: 'fails' | 'succeeds' = 'fails';

  write(cid: number, data: Buffer): void {
    if (cid === ATT_CID) this.sent.push(data.toString('hex'));
  }
  encrypt(): void {
    this.encryptRequests++;
    if (this.pairing === 'fails') this.emit('encryptFail');
    else this.emit('encrypt', true);
  }
  answer(hex: string): void {
    this.emit('data', ATT_CID, Buffer.from(hex.replace(/ /g, ''), 'hex'));
  }
  get last(): string | undefined {
    return this.sent.at(-1);
  }
}

interface Connected {
  gatt: EventEmitter & {
    write(s: string, c: string, data: Buffer, withoutResponse: boolean): void;
    read(s: string, c: string): void;
    discoverServices(uuids: string[]): void;
    discoverCharacteristics(service: string, uuids: string[]): void;
  };
  link: PeripheralLink;
  reports: AttErrorReport[];
}

let hook: GattAttHook | undefined;
afterEach(() => hook?.release());

/** A Gatt over a link to a peripheral with service fff0: fff1 (read, write) at 0x0003, fff2 (read, write) at 0x0005. */
function connect(): Connected {
  hook = hookGattAttErrors(Gatt);
  const reports: AttErrorReport[] = [];
  hook.source.on(ATT_ERROR_EVENT, (r: AttErrorReport) => reports.push(r));
  const link = new PeripheralLink();
  const gatt = new Gatt(ADDRESS, link) as unknown as Connected['gatt'];
  gatt.discoverServices([]);
  expect(link.last).toBe('100100ffff0028'); // Read By Group Type, primary services
  link.answer('11 06 0100 0500 f0ff');
  expect(link.last).toBe('100600ffff0028');
  link.answer('01 10 0600 0a'); // Attribute Not Found: end of services
  gatt.discoverCharacteristics('fff0', []);
  expect(link.last).toBe('08010005000328'); // Read By Type, characteristic declarations
  link.answer('09 07 0200 0a 0300 f1ff 0400 0a 0500 f2ff');
  expect(reports).toEqual([]); // errors to discovery requests are not reads or writes
  return { gatt, link, reports };
}

const written = (gatt: EventEmitter): Promise<void> => new Promise((resolve) => gatt.once('write', () => resolve()));

const target = {
  property: 'target',
  mac: ADDRESS,
  peripheralUuid: 'aabbccddee01',
  serviceUuid: 'fff0',
  characteristicUuid: 'fff1',
  op: 'write',
} as const;

describe("ATT Error Responses through noble's hci-socket Gatt", () => {
  it('an Error Response to a Write Request is reported with its code and spec name, and noble goes on', async () => {
    const { gatt, link, reports } = connect();
    const refused = withAttErrors(hook!.source, target, () => {
      const done = written(gatt);
      gatt.write('fff0', 'fff1', Buffer.from([0x34, 0x08]), false);
      return done;
    });
    expect(link.last).toBe('1203003408'); // Write Request, handle 0x0003, value
    link.answer('01 12 0300 03'); // Error Response: Write Request, handle 0x0003, Write Not Permitted
    const err = await refused.catch((e: unknown) => e);
    expect(isEdgeTwinError(err, 'ET_PROTOCOL')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({
      status: 'WriteNotPermitted',
      attErrorCode: 0x03,
      attRequestOpcode: 0x12,
      attHandle: 0x0003,
    });
    expect((err as Error).message).toContain('ATT error 0x03 WriteNotPermitted');
    expect(reports).toEqual([
      {
        peripheralUuid: 'aabbccddee01',
        serviceUuid: 'fff0',
        characteristicUuid: 'fff1',
        requestOpcode: 0x12,
        handle: 0x0003,
        code: 0x03,
      },
    ]);

    // The queue is free again: the next write is sent and its Write Response completes it.
    const ok = withAttErrors(hook!.source, target, () => {
      const done = written(gatt);
      gatt.write('fff0', 'fff1', Buffer.from([0x35, 0x08]), false);
      return done;
    });
    expect(link.last).toBe('1203003508');
    link.answer('13');
    await ok;
    expect(reports).toHaveLength(1);
  });

  it('an Error Response to a Read Request is reported (noble itself would hand back an empty value)', () => {
    const { gatt, link, reports } = connect();
    const values: Buffer[] = [];
    gatt.on('read', (_address: string, _s: string, _c: string, data: Buffer) => values.push(data));
    gatt.read('fff0', 'fff2');
    expect(link.last).toBe('0a0500');
    link.answer('01 0a 0500 02');
    expect(reports).toMatchObject([{ characteristicUuid: 'fff2', requestOpcode: 0x0a, handle: 0x0005, code: 0x02 }]);
    expect(values).toEqual([Buffer.alloc(0)]);
  });

  it('InsufficientAuthentication on a link noble cannot pair is reported instead of waiting forever', async () => {
    const { gatt, link, reports } = connect();
    link.pairing = 'fails';
    const refused = withAttErrors(hook!.source, target, () => {
      const done = written(gatt);
      gatt.write('fff0', 'fff1', Buffer.from([0x01, 0x00]), false);
      return done;
    });
    link.answer('01 12 0300 05');
    const err = await refused.catch((e: unknown) => e);
    expect(link.encryptRequests).toBe(1); // noble tried to pair first
    expect((err as { details: Record<string, unknown> }).details.status).toBe('InsufficientAuthentication');
    expect(reports.map((r) => r.code)).toEqual([0x05]);
    // noble's queue went on: a later request is sent.
    gatt.read('fff0', 'fff2');
    expect(link.last).toBe('0a0500');
  });

  it('after pairing succeeds noble repeats the write; a second refusal is reported', async () => {
    const { gatt, link, reports } = connect();
    link.pairing = 'succeeds';
    const refused = withAttErrors(hook!.source, target, () => {
      const done = written(gatt);
      gatt.write('fff0', 'fff1', Buffer.from([0x02, 0x00]), false);
      return done;
    });
    link.answer('01 12 0300 08'); // Insufficient Authorization: noble pairs, then sends the request again
    expect(link.sent.filter((s) => s === '1203000200')).toHaveLength(2);
    expect(reports).toEqual([]);
    link.answer('01 12 0300 08');
    const err = await refused.catch((e: unknown) => e);
    expect((err as { details: Record<string, unknown> }).details.status).toBe('InsufficientAuthorization');
    expect(reports.map((r) => r.code)).toEqual([0x08]);
  });

  it('a long write refused at its first Prepare Write fails with that error, although noble later reports it written', async () => {
    const { gatt, link, reports } = connect();
    const value = Buffer.alloc(30, 0x11); // longer than MTU 23 - 3: Prepare Write x2 + Execute Write
    const refused = withAttErrors(hook!.source, target, () => {
      const done = written(gatt);
      gatt.write('fff0', 'fff1', value, false);
      return done;
    });
    expect(link.last).toBe(`16030000 00${'11'.repeat(18)}`.replace(/ /g, ''));
    link.answer('01 16 0300 0d'); // Invalid Attribute Value Length
    expect(link.last).toBe(`160300 1200${'11'.repeat(12)}`.replace(/ /g, ''));
    link.answer(`170300 1200${'11'.repeat(12)}`);
    expect(link.last).toBe('1801');
    link.answer('19'); // noble emits 'write' on the Execute Write Response whatever came before
    const err = await refused.catch((e: unknown) => e);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({
      status: 'InvalidAttributeValueLength',
      attRequestOpcode: 0x16,
    });
    expect(reports.map((r) => r.code)).toEqual([0x0d]);
  });

  it('names ATT codes as the Core specification does', () => {
    expect(
      [0x01, 0x02, 0x03, 0x05, 0x08, 0x0d, 0x0e, 0x0f, 0x80, 0x9f, 0xfd, 0x60].map((c) => attErrorName(c)),
    ).toEqual([
      'InvalidHandle',
      'ReadNotPermitted',
      'WriteNotPermitted',
      'InsufficientAuthentication',
      'InsufficientAuthorization',
      'InvalidAttributeValueLength',
      'Unlikely',
      'InsufficientEncryption',
      'ApplicationError0x80',
      'ApplicationError0x9F',
      'CCCDImproperlyConfigured',
      'ReservedError0x60',
    ]);
  });
});

describe('the hook refuses a noble whose internals changed', () => {
  it('a Gatt without _queueCommand fails at install with ET_INTERNAL naming the file and the version', () => {
    class NoQueue extends EventEmitter {
      write(): void {}
      read(): void {}
      onAclStreamData(): void {}
      onAclStreamEncryptFail(): void {}
    }
    const err = (() => {
      try {
        hookGattAttErrors(NoQueue as unknown as GattClass);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(isEdgeTwinError(err, 'ET_INTERNAL')).toBe(true);
    expect((err as Error).message).toContain('has no function _queueCommand');
    expect((err as Error).message).toContain('1.9.2-26');
  });

  it('a Gatt whose write no longer queues its request with a callback fails the probe and is left unpatched', () => {
    class Direct extends EventEmitter {
      _characteristics: Record<string, Record<string, { valueHandle: number }>> = {};
      constructor(
        _address: string,
        private readonly stream: GattAclStream,
      ) {
        super();
      }
      _queueCommand(): void {}
      write(s: string, c: string, data: Buffer): void {
        const handle = this._characteristics[s]![c]!.valueHandle;
        this.stream.write(ATT_CID, Buffer.concat([Buffer.from([0x12, handle, 0]), data]));
      }
      read(): void {}
      onAclStreamData(): void {}
      onAclStreamEncryptFail(): void {}
    }
    const before = Object.getOwnPropertyDescriptor(Direct.prototype, 'write')?.value as unknown;
    expect(() => hookGattAttErrors(Direct as unknown as GattClass)).toThrow(/did not hand a Write Request/);
    expect(Object.getOwnPropertyDescriptor(Direct.prototype, 'write')?.value).toBe(before);
  });
});

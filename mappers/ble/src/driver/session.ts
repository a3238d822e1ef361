/**
 * A live link to one peripheral: reads, notifications and writes of its properties through noble,
 * with bytes turned into typed values by each property's codec. A dropped link aborts pending
 * operations and is reported once through `hooks.onLost`; the runtime then reconnects.
 */
import { EdgeTwinError, errorMessage, type TwinValue } from '@edgetwin/sdk';
import { type DeviceSession, type MapperProperty, type Reading, type SessionHooks } from '@edgetwin/sdk/mapper';
import type { Logger } from 'pino';
import { propertyCodec } from '../codec/property-codec.js';
import type { BleVisitorConfig } from '../config.js';
import { withAttErrors, type AttErrorSource, type AttTarget } from '../transport/att-errors.js';
import type { GattTable } from '../transport/gatt.js';
import type { Noble, NobleCharacteristic, NoblePeripheral } from '../transport/noble-types.js';
import { withTimeout } from '../transport/timeout.js';

type Prop = MapperProperty<BleVisitorConfig>;

export interface BleSessionOptions {
  mac: string;
  noble: Noble;
  peripheral: NoblePeripheral;
  gatt: GattTable;
  hooks: SessionHooks;
  logger: Logger;
  operationTimeoutMs: number;
  /** ATT Error Responses of this session's bindings (a refused read or write fails with its name). */
  attErrors?: AttErrorSource | undefined;
  /** Called when the link drops (not when the session is closed). */
  onLinkLost(): void;
  /** Called when the session is closed. */
  onClosed(): void;
}

export class BleSession implements DeviceSession<BleVisitorConfig> {
  private readonly link = new AbortController();
  private closing = false;
  private readonly listeners: { characteristic: NobleCharacteristic; listener: (data: Buffer, n: boolean) => void }[] =
    [];
  /** Last notified bytes per characteristic, for properties that can only be notified. */
  private readonly lastNotified = new Map<NobleCharacteristic, Buffer>();

  constructor(private readonly o: BleSessionOptions) {
    o.peripheral.once('disconnect', this.onDisconnect);
    o.noble.on('stateChange', this.onAdapterState);
    // The link may have dropped between connecting and this session listening for it.
    if (o.peripheral.state !== 'connected') queueMicrotask(() => this.lost(`peripheral ${o.mac} disconnected`));
  }

  private readonly onDisconnect = (reason?: unknown): void => {
    const hci = typeof reason === 'number' ? ` (HCI reason 0x${reason.toString(16).padStart(2, '0')})` : '';
    this.lost(`peripheral ${this.o.mac} disconnected${hci}`);
  };

  private readonly onAdapterState = (state: string): void => {
    if (state !== 'poweredOn') this.lost(`the Bluetooth adapter went ${state}`);
  };

  private lost(why: string): void {
    if (this.closing || this.link.signal.aborted) return;
    const err = new EdgeTwinError('ET_UNAVAILABLE', `${why}; reconnecting`, { details: { macAddress: this.o.mac } });
    this.link.abort(err);
    this.o.logger.warn({ reason: why }, 'BLE link lost');
    this.o.onLinkLost();
    this.o.hooks.onLost(err);
  }

  private characteristic(p: Prop): NobleCharacteristic {
    const c = this.o.gatt.lookup(p.name, p.visitor.characteristicUUID, p.visitor.serviceUUID);
    if (c instanceof EdgeTwinError) throw c;
    return c;
  }

  private async readBytes(p: Prop, c: NobleCharacteristic, signal: AbortSignal): Promise<Buffer> {
    if (!c.properties.includes('read')) {
      const last = this.lastNotified.get(c);
      if (last) return last;
      throw new EdgeTwinError(
        'ET_PROTOCOL',
        `property ${p.name}: characteristic ${c.uuid} cannot be read (it supports ${c.properties.join(', ')}) and has not notified yet`,
        { details: { property: p.name, characteristicProperties: c.properties } },
      );
    }
    return withAttErrors(this.o.attErrors, this.target(p, c, 'read'), () =>
      withTimeout(c.readAsync(), this.o.operationTimeoutMs, `reading ${p.name} (${c.uuid})`, [
        signal,
        this.link.signal,
      ]),
    );
  }

  /** What an ATT Error Response for this property's read or write names. */
  private target(p: Prop, c: NobleCharacteristic, op: AttTarget['op']): AttTarget {
    return {
      property: p.name,
      mac: this.o.mac,
      peripheralUuid: this.o.peripheral.id,
      serviceUuid: this.o.gatt.serviceOf(c) ?? '',
      characteristicUuid: c.uuid,
      op,
    };
  }

  private async readOne(p: Prop, signal: AbortSignal): Promise<Reading> {
    const c = this.characteristic(p);
    const data = await this.readBytes(p, c, signal);
    return { value: propertyCodec(p).decode(data) };
  }

  async read(properties: readonly Prop[], signal: AbortSignal): Promise<Map<string, Reading | Error>> {
    const out = new Map<string, Reading | Error>();
    // GATT allows one outstanding request per link: read one after the other.
    for (const p of properties) {
      try {
        out.set(p.name, await this.readOne(p, signal));
      } catch (err) {
        out.set(p.name, err instanceof Error ? err : new Error(String(err)));
      }
    }
    return out;
  }

  async subscribe(properties: readonly Prop[], signal: AbortSignal): Promise<string[]> {
    const polled: string[] = [];
    for (const p of properties) {
      let c: NobleCharacteristic;
      try {
        c = this.characteristic(p);
      } catch {
        polled.push(p.name); // the runtime polls it and reports the lookup error from read()
        continue;
      }
      const canNotify = c.properties.includes('notify') || c.properties.includes('indicate');
      if (!p.visitor.notify || !canNotify) {
        polled.push(p.name);
        continue;
      }
      const codec = propertyCodec(p);
      const listener = (data: Buffer, isNotification: boolean) => {
        if (!isNotification) return;
        this.lastNotified.set(c, data);
        let value: TwinValue;
        try {
          value = codec.decode(data);
        } catch (err) {
          this.o.logger.warn(
            { property: p.name, bytes: data.toString('hex'), err: errorMessage(err) },
            'undecodable notification',
          );
          return;
        }
        this.o.hooks.onReading(p.name, { value });
      };
      c.on('data', listener);
      this.listeners.push({ characteristic: c, listener });
      try {
        await withTimeout(c.subscribeAsync(), this.o.operationTimeoutMs, `subscribing to ${p.name} (${c.uuid})`, [
          signal,
          this.link.signal,
        ]);
      } catch (err) {
        c.removeListener('data', listener);
        this.o.logger.warn({ property: p.name, err: errorMessage(err) }, 'subscribe failed, polling instead');
        polled.push(p.name);
        continue;
      }
      if (c.properties.includes('read')) {
        // Report the current value now instead of waiting for the next notification.
        await this.readOne(p, signal).then(
          (r) => this.o.hooks.onReading(p.name, r),
          (err: unknown) => this.o.logger.debug({ property: p.name, err: errorMessage(err) }, 'initial read failed'),
        );
      }
    }
    return polled;
  }

  async write(p: Prop, value: TwinValue, signal: AbortSignal): Promise<Reading | undefined> {
    const c = this.characteristic(p);
    const props = c.properties;
    if (!props.includes('write') && !props.includes('writeWithoutResponse')) {
      throw new EdgeTwinError(
        'ET_PROTOCOL',
        `property ${p.name}: characteristic ${c.uuid} is not writable (it supports ${props.join(', ')}); make the property ReadOnly or fix characteristicUUID`,
        // ATT error 0x03, what the peripheral would answer a write with.
        { details: { property: p.name, characteristicProperties: props, status: 'WriteNotPermitted' } },
      );
    }
    const bytes = propertyCodec(p).encode(value);
    const withoutResponse = p.visitor.writeWithoutResponse || !props.includes('write');
    // A refusal (ATT Error Response) rejects with ET_PROTOCOL, details.status = its spec name: final for the runtime.
    await withAttErrors(this.o.attErrors, this.target(p, c, 'write'), () =>
      withTimeout(c.writeAsync(bytes, withoutResponse), this.o.operationTimeoutMs, `writing ${p.name} (${c.uuid})`, [
        signal,
        this.link.signal,
      ]),
    );
    this.o.logger.debug({ property: p.name, bytes: bytes.toString('hex') }, 'wrote');
    if (!props.includes('read')) return undefined;
    return this.readOne(p, signal);
  }

  /** The value the characteristic holds for `value`: the codec's resolution (fixed point, scale). */
  represent(p: Prop, value: TwinValue): TwinValue {
    if (!p.visitor.codec) return value;
    const codec = propertyCodec(p);
    return codec.decode(codec.encode(value));
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.o.onClosed();
    this.o.peripheral.removeListener('disconnect', this.onDisconnect);
    this.o.noble.removeListener('stateChange', this.onAdapterState);
    const connected = this.o.peripheral.state === 'connected' && !this.link.signal.aborted;
    this.link.abort(new EdgeTwinError('ET_ABORTED', `session with ${this.o.mac} closed`));
    for (const { characteristic, listener } of this.listeners) characteristic.removeListener('data', listener);
    this.listeners.length = 0;
    if (connected) {
      await withTimeout(this.o.peripheral.disconnectAsync(), 2000, `disconnecting ${this.o.mac}`).catch(
        (err: unknown) => this.o.logger.debug({ err: errorMessage(err) }, 'disconnect did not finish'),
      );
    }
  }
}

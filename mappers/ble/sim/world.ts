/**
 * Simulated Bluetooth LE peripherals: GATT services and characteristics with values, advertising,
 * links that drop and come back. A world is driven through noble by `SimBindings` (in process) or
 * by the websocket simulator server (`startBleSimulator`).
 */
import { EventEmitter } from 'node:events';
import { normalizeMac, normalizeUuid } from '../src/config.js';
import type { AdapterState, CharacteristicProperty } from '../src/transport/noble-types.js';

export interface SimCharacteristicInit {
  uuid: string;
  properties: CharacteristicProperty[];
  value?: Buffer;
  /** Called after a central wrote `data` (the value is already updated). */
  onWrite?(data: Buffer, characteristic: SimCharacteristic): void;
  /** Computes the value on each read (a thermometer measuring on demand). */
  onRead?(characteristic: SimCharacteristic): Buffer;
  /**
   * An ATT error code (e.g. 0x05 InsufficientAuthentication) the peripheral answers every write
   * request with, although it advertises `write`, until `grantWrites()`.
   */
  refuseWritesWith?: number;
  /** An ATT error code the peripheral answers every read request with, until `grantReads()`. */
  refuseReadsWith?: number;
}

export class SimCharacteristic {
  readonly uuid: string;
  readonly properties: CharacteristicProperty[];
  value: Buffer;
  /** Write requests and commands that reached the peripheral, refused ones included. */
  writeAttempts = 0;
  /** The ATT error code writes are refused with, if any. */
  writeError: number | undefined;
  /** The ATT error code reads are refused with, if any. */
  readError: number | undefined;

  constructor(
    readonly peripheral: SimPeripheral,
    readonly serviceUuid: string,
    /** The attribute handle of the value (as a GATT server numbers them). */
    readonly handle: number,
    private readonly init: SimCharacteristicInit,
  ) {
    this.uuid = normalizeUuid(init.uuid);
    this.properties = [...init.properties];
    this.value = Buffer.from(init.value ?? Buffer.alloc(0));
    this.writeError = init.refuseWritesWith;
    this.readError = init.refuseReadsWith;
  }

  /** From now on writes are accepted (e.g. the central was authorized on the peripheral). */
  grantWrites(): void {
    this.writeError = undefined;
  }

  /** From now on writes are answered with ATT error `code`. */
  refuseWritesWith(code: number): void {
    this.writeError = code;
  }

  grantReads(): void {
    this.readError = undefined;
  }

  /** What a central's read returns, or the ATT error code it is refused with. */
  read(): Buffer | { attError: number } {
    if (this.readError !== undefined) return { attError: this.readError };
    if (this.init.onRead) this.value = Buffer.from(this.init.onRead(this));
    return this.value;
  }

  /** A central wrote `data`; returns the ATT error code when the peripheral refuses it. */
  write(data: Buffer): number | undefined {
    this.writeAttempts++;
    if (this.writeError !== undefined) return this.writeError;
    this.value = Buffer.from(data);
    this.init.onWrite?.(this.value, this);
    return undefined;
  }

  /** The peripheral changes its value; subscribed centrals get a notification. */
  set(data: Buffer): void {
    this.value = Buffer.from(data);
    this.peripheral.emit('valueChanged', this);
  }
}

export interface SimServiceInit {
  uuid: string;
  characteristics: SimCharacteristicInit[];
}

export interface SimPeripheralInit {
  address: string;
  localName?: string;
  rssi?: number;
  services: SimServiceInit[];
}

export class SimPeripheral extends EventEmitter {
  readonly address: string;
  /** noble's peripheral id on Linux: the address without colons. */
  readonly id: string;
  readonly localName: string | undefined;
  readonly rssi: number;
  readonly services: { uuid: string; characteristics: SimCharacteristic[] }[];
  /** Advertising and reachable. */
  inRange = true;
  connected = false;

  constructor(init: SimPeripheralInit) {
    super();
    this.address = normalizeMac(init.address);
    this.id = this.address.replace(/:/g, '');
    this.localName = init.localName;
    this.rssi = init.rssi ?? -60;
    // Handles as a GATT server lays them out: service declaration, then declaration + value per characteristic.
    let handle = 0;
    this.services = init.services.map((s) => {
      const uuid = normalizeUuid(s.uuid);
      handle++;
      const characteristics = s.characteristics.map((c) => {
        handle += 2;
        return new SimCharacteristic(this, uuid, handle, c);
      });
      return { uuid, characteristics };
    });
  }

  characteristic(serviceUuid: string, characteristicUuid: string): SimCharacteristic | undefined {
    const s = this.services.find((x) => x.uuid === normalizeUuid(serviceUuid));
    return s?.characteristics.find((c) => c.uuid === normalizeUuid(characteristicUuid));
  }

  /** Goes out of range: the link drops (supervision timeout) and advertising stops. */
  goAway(): void {
    this.inRange = false;
    this.dropLink();
  }

  /** Comes back in range and advertises again. */
  comeBack(): void {
    this.inRange = true;
  }

  /** The link drops while the peripheral stays in range (it advertises again at once). */
  dropLink(): void {
    if (!this.connected) return;
    this.connected = false;
    this.emit('linkLost', 0x08); // HCI: connection timeout
  }
}

export class SimWorld extends EventEmitter {
  readonly peripherals = new Map<string, SimPeripheral>();
  adapterState: AdapterState = 'poweredOn';
  private readonly timers = new Set<NodeJS.Timeout>();
  stopped = false;

  add(init: SimPeripheralInit): SimPeripheral {
    const p = new SimPeripheral(init);
    this.peripherals.set(p.id, p);
    return p;
  }

  /** By address ("aa:bb:...") or noble id ("aabb..."). */
  get(macOrId: string): SimPeripheral | undefined {
    return this.peripherals.get(normalizeMac(macOrId).replace(/:/g, ''));
  }

  /** Turns the simulated radio on or off (poweredOff drops every link). */
  setAdapterState(state: AdapterState): void {
    this.adapterState = state;
    if (state !== 'poweredOn') for (const p of this.peripherals.values()) p.dropLink();
    this.emit('adapterState', state);
  }

  /** Runs `fn` every `ms` until `stop()`. */
  every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.add(t);
  }

  stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    this.emit('stop');
    return Promise.resolve();
  }
}

/**
 * noble bindings backed by a simulated world: the same command/event contract as noble's
 * hci-socket bindings, so the mapper drives the real noble library unchanged. Use it with
 * `require('@abandonware/noble/with-bindings')(new SimBindings(world))` or EDGETWIN_BLE_BINDINGS=sim.
 */
import { EventEmitter } from 'node:events';
import { normalizeUuid } from '../src/config.js';
import { ATT_ERROR_EVENT, type AttErrorReport } from '../src/transport/att-errors.js';
import type { AdapterState, NobleBindings } from '../src/transport/noble-types.js';
import type { SimCharacteristic, SimPeripheral, SimWorld } from './world.js';

export interface SimBindingsOptions {
  /** Delay of every answer (ms, default 2): answers never arrive synchronously, as on a radio. */
  latencyMs?: number;
  /** Advertising interval while scanning (ms, default 100). */
  advertiseIntervalMs?: number;
}

const LOCAL_HOST_TERMINATED = 0x16;

export class SimBindings extends EventEmitter implements NobleBindings {
  private readonly latencyMs: number;
  private readonly advertiseIntervalMs: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private advertiser: NodeJS.Timeout | undefined;
  private serviceFilter: string[] = [];
  /** `${peripheralId}/${service}/${characteristic}` the central subscribed to. */
  private readonly subscriptions = new Set<string>();
  private readonly links = new Map<
    string,
    { lost: (reason: number) => void; changed: (c: SimCharacteristic) => void }
  >();
  private disposed = false;

  constructor(
    private readonly world: SimWorld,
    opts: SimBindingsOptions = {},
  ) {
    super();
    this.latencyMs = opts.latencyMs ?? 2;
    this.advertiseIntervalMs = opts.advertiseIntervalMs ?? 100;
    this.setMaxListeners(0); // sessions wait for ATT errors here, one listener per pending request
    world.on('adapterState', this.onAdapterState);
    world.once('stop', () => this.dispose());
  }

  private later(fn: () => void): void {
    if (this.disposed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.disposed) fn();
    }, this.latencyMs);
    this.timers.add(t);
  }

  private readonly onAdapterState = (state: AdapterState): void => {
    if (state !== 'poweredOn') this.stopAdvertising();
    this.later(() => this.emit('stateChange', state));
  };

  private peripheral(id: string): SimPeripheral | undefined {
    return this.world.get(id);
  }

  private connected(id: string): SimPeripheral | undefined {
    const p = this.peripheral(id);
    return p?.connected && this.links.has(p.id) ? p : undefined;
  }

  init(): void {
    this.later(() => this.emit('stateChange', this.world.adapterState));
  }

  setScanParameters(): void {
    this.later(() => this.emit('scanParametersSet'));
  }

  startScanning(serviceUuids: string[] = [], _allowDuplicates = false): void {
    this.serviceFilter = serviceUuids.map(normalizeUuid);
    this.stopAdvertising();
    this.later(() => {
      this.emit('scanStart', false);
      this.advertise();
    });
    this.advertiser = setInterval(() => this.advertise(), this.advertiseIntervalMs);
    this.advertiser.unref();
  }

  private advertise(): void {
    if (this.world.adapterState !== 'poweredOn') return;
    for (const p of this.world.peripherals.values()) {
      if (!p.inRange || p.connected) continue;
      const serviceUuids = p.services.map((s) => s.uuid);
      if (this.serviceFilter.length > 0 && !serviceUuids.some((u) => this.serviceFilter.includes(u))) continue;
      const advertisement = {
        localName: p.localName,
        txPowerLevel: undefined,
        manufacturerData: undefined,
        serviceData: [],
        serviceUuids,
        solicitationServiceUuids: [],
        serviceSolicitationUuids: [],
      };
      this.emit('discover', p.id, p.address, 'public', true, advertisement, p.rssi, true);
    }
  }

  private stopAdvertising(): void {
    if (this.advertiser) clearInterval(this.advertiser);
    this.advertiser = undefined;
  }

  stopScanning(): void {
    this.stopAdvertising();
    this.later(() => this.emit('scanStop'));
  }

  reset(): void {
    // nothing to reset in a simulated controller
  }

  connect(id: string): void {
    this.later(() => {
      const p = this.peripheral(id);
      if (!p || !p.inRange || p.connected || this.world.adapterState !== 'poweredOn') {
        this.emit('connect', id, new Error('Connection Failed to be Established'));
        return;
      }
      p.connected = true;
      const link = {
        lost: (reason: number) => this.endLink(p, reason),
        changed: (c: SimCharacteristic) => {
          if (this.subscriptions.has(`${p.id}/${c.serviceUuid}/${c.uuid}`)) {
            this.later(() => this.emit('read', p.id, c.serviceUuid, c.uuid, Buffer.from(c.value), true));
          }
        },
      };
      this.links.set(p.id, link);
      p.on('linkLost', link.lost);
      p.on('valueChanged', link.changed);
      this.emit('connect', id, null);
    });
  }

  cancelConnect(id: string): void {
    const p = this.peripheral(id);
    if (p?.connected && this.links.has(p.id)) this.disconnect(id);
  }

  private endLink(p: SimPeripheral, reason: number): void {
    const link = this.links.get(p.id);
    if (!link) return;
    this.links.delete(p.id);
    p.removeListener('linkLost', link.lost);
    p.removeListener('valueChanged', link.changed);
    for (const key of [...this.subscriptions]) if (key.startsWith(`${p.id}/`)) this.subscriptions.delete(key);
    this.later(() => this.emit('disconnect', p.id, reason));
  }

  disconnect(id: string): void {
    const p = this.peripheral(id);
    if (!p || !this.links.has(p.id)) return;
    p.connected = false;
    this.endLink(p, LOCAL_HOST_TERMINATED);
  }

  updateRssi(id: string): void {
    const p = this.connected(id);
    if (p) this.later(() => this.emit('rssiUpdate', id, p.rssi));
  }

  discoverServices(id: string, uuids: string[] = []): void {
    const p = this.connected(id);
    if (!p) return; // no link: a real controller never answers
    const want = uuids.map(normalizeUuid);
    const found = p.services.map((s) => s.uuid).filter((u) => want.length === 0 || want.includes(u));
    this.later(() => this.emit('servicesDiscover', id, found));
  }

  discoverIncludedServices(id: string, serviceUuid: string): void {
    if (this.connected(id)) this.later(() => this.emit('includedServicesDiscover', id, serviceUuid, []));
  }

  discoverCharacteristics(id: string, serviceUuid: string, uuids: string[] = []): void {
    const p = this.connected(id);
    const service = p?.services.find((s) => s.uuid === normalizeUuid(serviceUuid));
    if (!service) return;
    const want = uuids.map(normalizeUuid);
    const found = service.characteristics
      .filter((c) => want.length === 0 || want.includes(c.uuid))
      .map((c) => ({ uuid: c.uuid, properties: [...c.properties] }));
    this.later(() => this.emit('characteristicsDiscover', id, service.uuid, found));
  }

  private char(id: string, serviceUuid: string, characteristicUuid: string): SimCharacteristic | undefined {
    return this.connected(id)?.characteristic(serviceUuid, characteristicUuid);
  }

  /**
   * A refused request (an ATT Error Response on a radio) is emitted as `ATT_ERROR_EVENT` with an
   * `AttErrorReport`, an extension of noble's bindings contract that the mapper listens to; noble
   * itself hears nothing, as with its hci-socket bindings.
   */
  private refuse(id: string, c: SimCharacteristic, requestOpcode: number, code: number): void {
    const report: AttErrorReport = {
      peripheralUuid: id,
      serviceUuid: c.serviceUuid,
      characteristicUuid: c.uuid,
      requestOpcode,
      handle: c.handle,
      code,
    };
    this.emit(ATT_ERROR_EVENT, report);
  }

  read(id: string, serviceUuid: string, characteristicUuid: string): void {
    const c = this.char(id, serviceUuid, characteristicUuid);
    if (!c) return;
    this.later(() => {
      const value = c.read();
      if (Buffer.isBuffer(value)) this.emit('read', id, c.serviceUuid, c.uuid, Buffer.from(value), false);
      else this.refuse(id, c, 0x0a, value.attError);
    });
  }

  write(id: string, serviceUuid: string, characteristicUuid: string, data: Buffer, withoutResponse: boolean): void {
    const c = this.char(id, serviceUuid, characteristicUuid);
    if (!c) return;
    this.later(() => {
      const refused = c.write(Buffer.from(data));
      // A Write Command has no response: a refused one is dropped silently, as on a radio.
      if (refused === undefined || withoutResponse) this.emit('write', id, c.serviceUuid, c.uuid);
      else this.refuse(id, c, 0x12, refused);
    });
  }

  broadcast(id: string, serviceUuid: string, characteristicUuid: string, state: boolean): void {
    if (this.char(id, serviceUuid, characteristicUuid)) {
      this.later(() => this.emit('broadcast', id, serviceUuid, characteristicUuid, state));
    }
  }

  notify(id: string, serviceUuid: string, characteristicUuid: string, notify: boolean): void {
    const c = this.char(id, serviceUuid, characteristicUuid);
    if (!c) return;
    const key = `${id}/${c.serviceUuid}/${c.uuid}`;
    if (notify) this.subscriptions.add(key);
    else this.subscriptions.delete(key);
    this.later(() => this.emit('notify', id, c.serviceUuid, c.uuid, notify));
  }

  discoverDescriptors(id: string, serviceUuid: string, characteristicUuid: string): void {
    if (this.char(id, serviceUuid, characteristicUuid)) {
      this.later(() => this.emit('descriptorsDiscover', id, serviceUuid, characteristicUuid, []));
    }
  }

  readValue(id: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string): void {
    if (this.char(id, serviceUuid, characteristicUuid)) {
      this.later(() => this.emit('valueRead', id, serviceUuid, characteristicUuid, descriptorUuid, Buffer.alloc(0)));
    }
  }

  writeValue(id: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string): void {
    if (this.char(id, serviceUuid, characteristicUuid)) {
      this.later(() => this.emit('valueWrite', id, serviceUuid, characteristicUuid, descriptorUuid));
    }
  }

  readHandle(id: string, handle: number): void {
    if (this.connected(id)) this.later(() => this.emit('handleRead', id, handle, Buffer.alloc(0)));
  }

  writeHandle(id: string, handle: number): void {
    if (this.connected(id)) this.later(() => this.emit('handleWrite', id, handle));
  }

  /** Stops advertising and answering; drops links. Called when the world stops. */
  dispose(): void {
    this.stopAdvertising();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of this.world.peripherals.values()) {
      const link = this.links.get(p.id);
      if (!link) continue;
      p.removeListener('linkLost', link.lost);
      p.removeListener('valueChanged', link.changed);
      p.connected = false;
    }
    this.links.clear();
    this.world.removeListener('adapterState', this.onAdapterState);
    this.disposed = true;
  }
}

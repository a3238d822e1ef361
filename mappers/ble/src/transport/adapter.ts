/**
 * One Bluetooth adapter (one noble instance) shared by every device of the mapper: waits for the
 * radio to be powered on, and runs one scan for all the peripherals being looked for at a time.
 */
import { EdgeTwinError } from '@edgetwin/sdk';
import type { Logger } from 'pino';
import { normalizeMac } from '../config.js';
import type { AdapterState, Noble, NoblePeripheral } from './noble-types.js';
import { withTimeout } from './timeout.js';

interface Waiter {
  mac: string;
  resolve(p: NoblePeripheral): void;
}

export class BleAdapter {
  private readonly waiters = new Set<Waiter>();
  /** Pairing scans: they keep the scan running and hear every advertisement. */
  private readonly listeners = new Set<(p: NoblePeripheral) => void>();
  private scanning = false;
  private scanOp: Promise<void> = Promise.resolve();

  constructor(
    readonly noble: Noble,
    private readonly logger: Logger,
  ) {
    this.noble.on('discover', this.onDiscover);
  }

  get state(): AdapterState {
    return this.noble.state;
  }

  /** Resolves once the radio is powered on; ET_UNAVAILABLE when it is off, missing or does not answer. */
  async whenPoweredOn(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.noble.state === 'poweredOn') return;
    let onChange: ((s: AdapterState) => void) | undefined;
    const powered = new Promise<void>((resolve, reject) => {
      onChange = (s: AdapterState) => {
        if (s === 'poweredOn') resolve();
        else if (s === 'unsupported' || s === 'unauthorized') reject(adapterStateError(s));
      };
      this.noble.on('stateChange', onChange);
    });
    try {
      await withTimeout(powered, timeoutMs, 'waiting for the Bluetooth adapter', [signal]);
    } catch (err) {
      if (err instanceof EdgeTwinError && err.code === 'ET_TIMEOUT') throw adapterStateError(this.noble.state);
      throw err;
    } finally {
      if (onChange) this.noble.removeListener('stateChange', onChange);
    }
  }

  /** Scans until a peripheral with `mac` advertises; ET_TIMEOUT after `timeoutMs`. */
  async find(mac: string, timeoutMs: number, signal?: AbortSignal): Promise<NoblePeripheral> {
    const want = normalizeMac(mac);
    let waiter: Waiter | undefined;
    const found = new Promise<NoblePeripheral>((resolve) => {
      waiter = { mac: want, resolve };
      this.waiters.add(waiter);
    });
    this.updateScan();
    try {
      return await withTimeout(found, timeoutMs, `scanning for peripheral ${want}`, [signal]).catch((err: unknown) => {
        if (err instanceof EdgeTwinError && err.code === 'ET_TIMEOUT') {
          throw new EdgeTwinError(
            'ET_UNAVAILABLE',
            `peripheral ${want} did not advertise within ${timeoutMs} ms; check that it is powered, in range and not connected to another central, and that macAddress is right`,
            { cause: err, details: { macAddress: want, scanTimeoutMs: timeoutMs } },
          );
        }
        throw err;
      });
    } finally {
      if (waiter) this.waiters.delete(waiter);
      this.updateScan();
    }
  }

  /**
   * Keeps the adapter scanning (sharing the scan configured devices are looked for with: noble
   * runs one scan per adapter) and hands `listener` every advertisement until the returned
   * function is called. Connections are not touched: scanning and links are independent in noble.
   */
  listen(listener: (p: NoblePeripheral) => void): () => void {
    this.listeners.add(listener);
    this.updateScan();
    return () => {
      if (!this.listeners.delete(listener)) return;
      this.updateScan();
    };
  }

  private readonly onDiscover = (p: NoblePeripheral): void => {
    for (const l of this.listeners) l(p);
    const address = normalizeMac(p.address || '');
    const id = p.id.toLowerCase();
    for (const w of this.waiters) {
      if (w.mac === address || w.mac.replace(/:/g, '') === id) {
        this.waiters.delete(w);
        w.resolve(p);
      }
    }
  };

  /** Starts scanning while someone waits or listens, stops when nobody does; operations run one at a time. */
  private updateScan(): void {
    const want = this.waiters.size > 0 || this.listeners.size > 0;
    if (want === this.scanning) return;
    this.scanning = want;
    this.scanOp = this.scanOp
      .then(() => (want ? this.noble.startScanningAsync([], true) : this.noble.stopScanningAsync()))
      .catch((err: unknown) => {
        this.scanning = false;
        this.logger.warn({ err }, want ? 'could not start scanning' : 'could not stop scanning');
      });
  }

  async stop(): Promise<void> {
    this.waiters.clear();
    this.listeners.clear();
    this.noble.removeListener('discover', this.onDiscover);
    if (this.scanning) {
      this.scanning = false;
      this.scanOp = this.scanOp.then(() => this.noble.stopScanningAsync()).catch(() => undefined);
    }
    await withTimeout(this.scanOp, 2000, 'stopping the scan').catch(() => undefined);
  }
}

export function adapterStateError(state: AdapterState): EdgeTwinError {
  const why: Record<AdapterState, string> = {
    unknown: 'did not report its state (is a Bluetooth adapter attached and is BlueZ not holding it exclusively?)',
    resetting: 'is resetting',
    unsupported: 'does not support Bluetooth Low Energy',
    unauthorized: 'may not be used by this process (grant CAP_NET_RAW/CAP_NET_ADMIN or run as root)',
    poweredOff: 'is powered off (bluetoothctl power on)',
    poweredOn: 'is powered on',
  };
  return new EdgeTwinError('ET_UNAVAILABLE', `no usable Bluetooth adapter: the adapter ${why[state]}`, {
    details: { adapterState: state },
  });
}

/**
 * The BLE driver: loads noble on the first BLE device (never before), shares one adapter between
 * all peripherals, and opens a session per device (scan by MAC, connect, discover GATT).
 */
import { EdgeTwinError, errorMessage, isEdgeTwinError } from '@edgetwin/sdk';
import {
  type DeviceSession,
  type MapperContext,
  type MapperDevice,
  type MapperDriver,
  type SessionHooks,
} from '@edgetwin/sdk/mapper';
import { sleep } from '@edgetwin/sdk/util';
import { normalizeMac, type BleProtocolConfig, type BleVisitorConfig } from '../config.js';
import { BleAdapter } from '../transport/adapter.js';
import { connectPeripheral, discoverGatt } from '../transport/gatt.js';
import { withTimeout } from '../transport/timeout.js';
import { bindingsFromEnv, loadNoble, type BindingsChoice, type LoadedNoble } from '../transport/load-noble.js';
import { BleScanner } from '../pairing/scan.js';
import { NoRadioSession } from './no-radio-session.js';
import { BleSession } from './session.js';

export interface BleDriverOptions {
  /** noble bindings: 'hci' (default), 'websocket', 'sim', or a bindings object; default from EDGETWIN_BLE_BINDINGS. */
  bindings?: BindingsChoice;
  /** How long to wait for the adapter to power on before a device is marked unavailable (ms, default 5000). */
  adapterTimeoutMs?: number;
  /** Timeout of one read, write or subscribe (ms, default 5000). */
  operationTimeoutMs?: number;
}

interface Loaded {
  loaded: LoadedNoble;
  adapter: BleAdapter;
}

export function createBleDriver(
  ctx: MapperContext,
  opts: BleDriverOptions = {},
): MapperDriver<BleProtocolConfig, BleVisitorConfig> {
  const log = ctx.logger;
  const adapterTimeoutMs = opts.adapterTimeoutMs ?? 5000;
  const operationTimeoutMs = opts.operationTimeoutMs ?? 5000;
  const sessions = new Set<BleSession>();
  const lostAt = new Map<string, number>();
  let loading: Promise<Loaded> | undefined;
  let stopped = false;
  /** Configured devices by address, for the pairing scan's `device` field. */
  const deviceByMac = new Map<string, string>();

  function load(): Promise<Loaded> {
    loading ??= (async () => {
      const choice = opts.bindings ?? bindingsFromEnv();
      const loaded = await loadNoble(choice);
      log.info({ bindings: loaded.kind }, 'noble loaded');
      return { loaded, adapter: new BleAdapter(loaded.noble, log) };
    })();
    loading.catch((err: unknown) => log.error({ reason: errorMessage(err) }, 'Bluetooth unavailable'));
    return loading;
  }

  const scanner = new BleScanner({
    ctx,
    deviceOf: (mac) => deviceByMac.get(mac),
    adapter: async () => {
      const { adapter } = await load();
      await adapter.whenPoweredOn(adapterTimeoutMs);
      return adapter;
    },
  });
  void scanner
    .start()
    .catch((err: unknown) => log.warn({ err: errorMessage(err) }, `BLE pairing scans are off: ${errorMessage(err)}`));

  async function connect(
    device: MapperDevice<BleProtocolConfig, BleVisitorConfig>,
    hooks: SessionHooks,
    signal: AbortSignal,
  ): Promise<DeviceSession<BleVisitorConfig>> {
    if (stopped) throw new EdgeTwinError('ET_UNAVAILABLE', 'the BLE driver is stopped');
    const cfg = device.protocol;
    const mac = normalizeMac(cfg.macAddress);
    deviceByMac.set(mac, device.id);
    const dlog = log.child({ device: device.id, mac });
    let loaded: LoadedNoble, adapter: BleAdapter;
    try {
      ({ loaded, adapter } = await load());
    } catch (err) {
      if (!isEdgeTwinError(err, 'ET_UNAVAILABLE')) throw err;
      return new NoRadioSession(err, hooks, undefined);
    }
    try {
      await adapter.whenPoweredOn(adapterTimeoutMs, signal);
    } catch (err) {
      if (!isEdgeTwinError(err, 'ET_UNAVAILABLE')) throw err;
      dlog.warn({ reason: err.message }, 'Bluetooth adapter not usable');
      return new NoRadioSession(err, hooks, loaded.noble);
    }

    const since = lostAt.get(device.id);
    if (since !== undefined) {
      const wait = since + cfg.reconnectIntervalMs - ctx.clock.now();
      if (wait > 0) await sleep(wait, signal, ctx.clock);
    }

    const peripheral = await adapter.find(mac, cfg.scanTimeoutMs, signal);
    if (peripheral.state !== 'connected') await connectPeripheral(peripheral, cfg.connectTimeoutMs, signal);
    let gatt;
    try {
      gatt = await discoverGatt(peripheral, mac, cfg.connectTimeoutMs, signal);
    } catch (err) {
      await withTimeout(peripheral.disconnectAsync(), 2000, `disconnecting ${mac}`).catch(() => undefined);
      throw err;
    }
    dlog.info({ characteristics: gatt.entries.length }, 'connected');
    const session = new BleSession({
      mac,
      noble: loaded.noble,
      peripheral,
      gatt,
      hooks,
      logger: dlog,
      operationTimeoutMs,
      attErrors: loaded.attErrors,
      onLinkLost: () => {
        lostAt.set(device.id, ctx.clock.now());
        sessions.delete(session);
      },
      onClosed: () => sessions.delete(session),
    });
    if (stopped) {
      await session.close();
      throw new EdgeTwinError('ET_ABORTED', 'the BLE driver stopped while connecting');
    }
    sessions.add(session);
    return session;
  }

  async function stop(): Promise<void> {
    stopped = true;
    // Not awaiting `scanning`: its subscription may still wait for the broker; the scanner drops it when it comes.
    await scanner.stop();
    await Promise.all([...sessions].map((s) => s.close()));
    sessions.clear();
    if (loading) {
      const l = await loading.catch(() => undefined);
      if (l) {
        await l.adapter.stop();
        await l.loaded.release();
      }
    }
  }

  const removed = (id: string) => {
    for (const [mac, d] of deviceByMac) if (d === id) deviceByMac.delete(mac);
  };

  return { connect, stop, removed };
}

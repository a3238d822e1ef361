/**
 * Loads noble lazily, only when a BLE device is configured: importing noble's default entry opens
 * an HCI socket and throws EAFNOSUPPORT on hosts without a Bluetooth stack. The bindings are
 * chosen by `EDGETWIN_BLE_BINDINGS` (hci | websocket) or passed in directly: a bindings object, or
 * an `OpenBindings` function called on the first device. Simulated peripherals are never chosen
 * here: `EDGETWIN_BLE_BINDINGS=sim` is handled by the package's bin, which runs the simulator's
 * mapper process (`sim/mapper-bin.ts`, injecting `openDemoBindings`).
 */
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { BindingsKinds, type BindingsKind } from '../config.js';
import type { AttErrorSource } from './att-errors.js';
import { hookGattAttErrors, type GattClass } from './gatt-att-hook.js';
import type { Noble, NobleBindings } from './noble-types.js';
import { websocketAttErrors } from './websocket-att.js';

/** Bindings opened on the first device, e.g. the simulator's `openDemoBindings`. */
export type OpenBindings = () => Promise<OpenedBindings>;

export interface OpenedBindings {
  bindings: NobleBindings;
  /** Logged as the bindings' kind, e.g. 'sim'. */
  kind: string;
  /** Releases what opening created (a simulated world's timers). */
  release(): Promise<void>;
}

export type BindingsChoice = BindingsKind | NobleBindings | OpenBindings;

export interface LoadedNoble {
  noble: Noble;
  kind: string;
  /**
   * Where ATT Error Responses to reads and writes are reported (see att-errors.ts): the hci
   * Gatt hook, the websocket extension, or the injected bindings themselves (SimBindings emits them).
   */
  attErrors: AttErrorSource;
  /** Releases what loading created (the simulated world's timers, the websocket). */
  release(): Promise<void>;
}

/** The bindings named by EDGETWIN_BLE_BINDINGS, default `hci` (a real adapter through BlueZ's kernel socket). */
export function bindingsFromEnv(env: NodeJS.ProcessEnv = process.env): BindingsKind {
  const raw = env.EDGETWIN_BLE_BINDINGS?.trim();
  if (!raw) return 'hci';
  if ((BindingsKinds as readonly string[]).includes(raw)) return raw as BindingsKind;
  throw new EdgeTwinError(
    'ET_CONFIG_INVALID',
    `EDGETWIN_BLE_BINDINGS=${raw} is not known; use one of ${BindingsKinds.join(', ')}`,
    { details: { path: 'env/EDGETWIN_BLE_BINDINGS', expected: BindingsKinds } },
  );
}

type WithBindings = (bindings: unknown) => Noble;

async function importCjs<T>(specifier: string): Promise<T> {
  const mod = (await import(specifier)) as { default: T };
  return mod.default;
}

function importWithBindings(): Promise<WithBindings> {
  return importCjs<WithBindings>('@abandonware/noble/with-bindings.js');
}

export function noAdapterError(cause: unknown): EdgeTwinError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new EdgeTwinError(
    'ET_UNAVAILABLE',
    `no Bluetooth adapter: noble could not open the HCI socket (${errorMessage(cause)}). Check that the host has a Bluetooth adapter and kernel support (bluetoothctl list), that the mapper may open raw HCI sockets (CAP_NET_RAW), or set EDGETWIN_BLE_BINDINGS=sim to use simulated peripherals`,
    { cause, details: { errno: typeof code === 'string' ? code : undefined } },
  );
}

export async function loadNoble(choice: BindingsChoice): Promise<LoadedNoble> {
  if (typeof choice === 'function') {
    const withBindings = await importWithBindings();
    const opened = await choice();
    return {
      noble: withBindings(opened.bindings),
      kind: opened.kind,
      attErrors: opened.bindings,
      release: () => opened.release(),
    };
  }
  if (typeof choice !== 'string') {
    const withBindings = await importWithBindings();
    return { noble: withBindings(choice), kind: 'custom', attErrors: choice, release: () => Promise.resolve() };
  }
  switch (choice) {
    case 'hci': {
      // Before noble opens the socket: a noble whose Gatt internals changed fails here, loudly.
      const hook = hookGattAttErrors(await importCjs<GattClass>('@abandonware/noble/lib/hci-socket/gatt.js'));
      let noble: Noble;
      try {
        noble = await importCjs<Noble>('@abandonware/noble');
      } catch (err) {
        hook.release();
        throw noAdapterError(err);
      }
      return {
        noble,
        kind: 'hci',
        attErrors: hook.source,
        release: () => {
          hook.release();
          return Promise.resolve();
        },
      };
    }
    case 'websocket': {
      const withBindings = await importWithBindings();
      const Bindings = await importCjs<new () => NobleBindings>('@abandonware/noble/lib/websocket/bindings.js');
      // noble must listen before the socket can deliver the server's first stateChange: no await between these.
      const bindings = new Bindings();
      const noble = withBindings(bindings);
      const attErrors = websocketAttErrors(bindings);
      const ws = (bindings as unknown as { _ws?: { close(): void } })._ws;
      return {
        noble,
        kind: 'websocket',
        attErrors,
        release: () => {
          ws?.close();
          return Promise.resolve();
        },
      };
    }
    case 'sim':
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        'EDGETWIN_BLE_BINDINGS=sim: the simulated peripherals are injected by the edgetwin-mapper-bluetooth command (it runs the mapper of @edgetwin/mapper-ble/sim), or pass bindings: openDemoBindings from @edgetwin/mapper-ble/sim',
        { details: { path: 'env/EDGETWIN_BLE_BINDINGS', expected: ['hci', 'websocket'] } },
      );
  }
}

/**
 * Loads noble lazily, only when a BLE device is configured: importing noble's default entry opens
 * an HCI socket and throws EAFNOSUPPORT on hosts without a Bluetooth stack. The bindings are
 * chosen by `EDGETWIN_BLE_BINDINGS` (hci | websocket | sim) or passed in directly.
 */
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { BindingsKinds, type BindingsKind } from '../config.js';
import type { Noble, NobleBindings } from './noble-types.js';

export type BindingsChoice = BindingsKind | NobleBindings;

export interface LoadedNoble {
  noble: Noble;
  kind: BindingsKind | 'custom';
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
  if (typeof choice !== 'string') {
    const withBindings = await importWithBindings();
    return { noble: withBindings(choice), kind: 'custom', release: () => Promise.resolve() };
  }
  switch (choice) {
    case 'hci': {
      let noble: Noble;
      try {
        noble = await importCjs<Noble>('@abandonware/noble');
      } catch (err) {
        throw noAdapterError(err);
      }
      return { noble, kind: 'hci', release: () => Promise.resolve() };
    }
    case 'websocket': {
      const withBindings = await importWithBindings();
      const Bindings = await importCjs<new () => NobleBindings>('@abandonware/noble/lib/websocket/bindings.js');
      // noble must listen before the socket can deliver the server's first stateChange: no await between these.
      const bindings = new Bindings();
      const noble = withBindings(bindings);
      const ws = (bindings as unknown as { _ws?: { close(): void } })._ws;
      return {
        noble,
        kind: 'websocket',
        release: () => {
          ws?.close();
          return Promise.resolve();
        },
      };
    }
    case 'sim': {
      const { startDemoWorld } = await import('../sim/demo.js');
      const { SimBindings } = await import('../sim/bindings.js');
      const withBindings = await importWithBindings();
      const world = startDemoWorld();
      return { noble: withBindings(new SimBindings(world)), kind: 'sim', release: () => world.stop() };
    }
  }
}

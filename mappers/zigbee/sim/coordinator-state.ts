/**
 * What the MT request handlers (`handlers.ts`, `zdo-handlers.ts`) read and change in the emulated
 * coordinator. `ZnpEmulator` implements it; the handlers depend on this interface only, so the
 * emulator imports the handlers and nothing imports the emulator back.
 */
import type { Logger } from 'pino';
import type { NvStore } from './nv-store.js';
import type { OutgoingZcl, SimDevice } from './sim-device.js';
import type { Frame } from './znp-wire.js';

export interface RegisteredEndpoint {
  id: number;
  profileId: number;
  deviceId: number;
  inIds: number[];
  outIds: number[];
}

/** Z-Stack device states: 0 HOLD, 9 ZB_COORD (started as coordinator). */
export type DevState = 0 | 9;

export interface CoordinatorState {
  readonly nv: NvStore;
  readonly ieeeAddress: string;
  readonly devices: SimDevice[];
  readonly endpoints: Map<number, RegisteredEndpoint>;
  readonly groups: Set<string>;
  devState: DevState;
  primaryChannelMask: number | undefined;
  /** Every MT command name the host sent, in order. */
  readonly received: string[];
  readonly log: Logger | undefined;
  deviceByNwk(nwk: number): SimDevice | undefined;
  /** Sends a frame to the connected host (herdsman). */
  send(frame: Frame): void;
  /** Runs `fn` after `ms`, unless the emulator stops first. */
  later(ms: number, fn: () => void): void;
  /** Relays a simulated device's ZCL message to the host. */
  deliver(z: OutgoingZcl): void;
  permitJoin(seconds: number): void;
  clearNetwork(): void;
  saveSoon(): void;
  saveState(): void;
}

/**
 * The session of a device whose Bluetooth adapter is missing or off. The mapper keeps running:
 * every read fails with the adapter problem, so the runtime marks the device `unhealthy` with that
 * reason (instead of `offline`, which means the peripheral itself is unreachable). When the adapter
 * powers on later, the session reports itself lost so the runtime connects for real.
 */
import type { EdgeTwinError } from '@edgetwin/sdk';
import type { DeviceSession, MapperProperty, Reading, SessionHooks } from '@edgetwin/sdk/mapper';
import type { BleVisitorConfig } from '../config.js';
import type { Noble } from '../transport/noble-types.js';

export class NoRadioSession implements DeviceSession<BleVisitorConfig> {
  private closed = false;

  constructor(
    readonly reason: EdgeTwinError,
    private readonly hooks: SessionHooks,
    private readonly noble: Noble | undefined,
  ) {
    noble?.on('stateChange', this.onState);
  }

  private readonly onState = (state: string): void => {
    if (state !== 'poweredOn' || this.closed) return;
    void this.close();
    this.hooks.onLost(new Error('the Bluetooth adapter is powered on now'));
  };

  read(properties: readonly MapperProperty<BleVisitorConfig>[]): Promise<Map<string, Reading | Error>> {
    return Promise.resolve(new Map(properties.map((p) => [p.name, this.reason])));
  }

  subscribe(properties: readonly MapperProperty<BleVisitorConfig>[]): Promise<string[]> {
    return Promise.resolve(properties.map((p) => p.name));
  }

  write(): Promise<Reading | undefined> {
    return Promise.reject(this.reason);
  }

  close(): Promise<void> {
    this.closed = true;
    this.noble?.removeListener('stateChange', this.onState);
    return Promise.resolve();
  }
}

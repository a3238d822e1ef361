/**
 * A connected peripheral's GATT table, discovered once per connection through noble's API.
 */
import { EdgeTwinError } from '@edgetwin/sdk';
import { normalizeUuid } from '../config.js';
import type { NobleCharacteristic, NoblePeripheral } from './noble-types.js';
import { withTimeout } from './timeout.js';

export interface GattEntry {
  serviceUuid: string;
  characteristic: NobleCharacteristic;
}

export class GattTable {
  constructor(
    readonly mac: string,
    readonly entries: readonly GattEntry[],
  ) {}

  /** The service a discovered characteristic belongs to (noble's service uuid). */
  serviceOf(characteristic: NobleCharacteristic): string | undefined {
    return this.entries.find((e) => e.characteristic === characteristic)?.serviceUuid;
  }

  /** The characteristic, or an ET_CONFIG_INVALID error that lists what the peripheral has. */
  lookup(property: string, characteristicUuid: string, serviceUuid?: string): NobleCharacteristic | EdgeTwinError {
    const c = normalizeUuid(characteristicUuid);
    const s = serviceUuid === undefined ? undefined : normalizeUuid(serviceUuid);
    const hit = this.entries.find((e) => e.characteristic.uuid === c && (s === undefined || e.serviceUuid === s));
    if (hit) return hit.characteristic;
    const inService = s === undefined ? '' : ` in service ${s}`;
    const services = s === undefined ? [] : this.entries.filter((e) => e.serviceUuid === s);
    const has =
      s !== undefined && services.length === 0
        ? `it has no service ${s}; its services are ${[...new Set(this.entries.map((e) => e.serviceUuid))].join(', ') || 'none'}`
        : `it has ${(s === undefined ? this.entries : services).map((e) => `${e.serviceUuid}/${e.characteristic.uuid}`).join(', ') || 'no characteristics'}`;
    return new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `property ${property}: peripheral ${this.mac} has no characteristic ${c}${inService} (${has}); fix characteristicUUID/serviceUUID in the visitor configData`,
      { details: { property, characteristicUUID: c, serviceUUID: s, macAddress: this.mac } },
    );
  }
}

export async function connectPeripheral(p: NoblePeripheral, timeoutMs: number, signal: AbortSignal): Promise<void> {
  try {
    await withTimeout(p.connectAsync(), timeoutMs, `connecting to ${p.address}`, [signal]);
  } catch (err) {
    if (p.state === 'connecting') p.cancelConnect();
    throw err instanceof EdgeTwinError
      ? err
      : new EdgeTwinError('ET_UNAVAILABLE', `could not connect to ${p.address}: ${(err as Error).message}; retrying`, {
          cause: err,
        });
  }
}

export async function discoverGatt(
  p: NoblePeripheral,
  mac: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<GattTable> {
  const what = `discovering the services of ${mac}`;
  const services = await withTimeout(p.discoverServicesAsync([]), timeoutMs, what, [signal]);
  const entries: GattEntry[] = [];
  for (const service of services) {
    const chars = await withTimeout(service.discoverCharacteristicsAsync([]), timeoutMs, what, [signal]);
    for (const characteristic of chars) entries.push({ serviceUuid: service.uuid, characteristic });
  }
  return new GattTable(mac, entries);
}

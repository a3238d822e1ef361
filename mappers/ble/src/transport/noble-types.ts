/**
 * The part of noble's public API the mapper uses, typed narrowly. Objects come from the real
 * noble library (whatever bindings it runs on); nothing here re-implements noble.
 */
import type { EventEmitter } from 'node:events';

export type AdapterState = 'unknown' | 'resetting' | 'unsupported' | 'unauthorized' | 'poweredOff' | 'poweredOn';

export type CharacteristicProperty =
  | 'broadcast'
  | 'read'
  | 'writeWithoutResponse'
  | 'write'
  | 'notify'
  | 'indicate'
  | 'authenticatedSignedWrites'
  | 'extendedProperties';

export interface NobleCharacteristic extends EventEmitter {
  uuid: string;
  properties: CharacteristicProperty[];
  readAsync(): Promise<Buffer>;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  subscribeAsync(): Promise<void>;
  unsubscribeAsync(): Promise<void>;
}

export interface NobleService extends EventEmitter {
  uuid: string;
  discoverCharacteristicsAsync(characteristicUUIDs?: string[]): Promise<NobleCharacteristic[]>;
}

export interface NoblePeripheral extends EventEmitter {
  id: string;
  address: string;
  state: 'error' | 'connecting' | 'connected' | 'disconnecting' | 'disconnected';
  rssi: number;
  advertisement: { localName?: string | undefined; serviceUuids?: string[] | undefined };
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  cancelConnect(): void;
  discoverServicesAsync(serviceUUIDs?: string[]): Promise<NobleService[]>;
}

export interface Noble extends EventEmitter {
  readonly state: AdapterState;
  startScanningAsync(serviceUUIDs?: string[], allowDuplicates?: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
}

/**
 * noble's bindings contract (see noble's lib/hci-socket/bindings.js): commands in, events out
 * (stateChange, scanStart, scanStop, discover, connect, disconnect, servicesDiscover,
 * characteristicsDiscover, read, write, notify, ...).
 */
export interface NobleBindings extends EventEmitter {
  init(): void;
  startScanning(serviceUuids?: string[], allowDuplicates?: boolean): void;
  stopScanning(): void;
  connect(peripheralUuid: string, parameters?: unknown): void;
  cancelConnect(peripheralUuid: string, parameters?: unknown): void;
  disconnect(peripheralUuid: string): void;
  discoverServices(peripheralUuid: string, serviceUuids?: string[]): void;
  discoverCharacteristics(peripheralUuid: string, serviceUuid: string, characteristicUuids?: string[]): void;
  read(peripheralUuid: string, serviceUuid: string, characteristicUuid: string): void;
  write(
    peripheralUuid: string,
    serviceUuid: string,
    characteristicUuid: string,
    data: Buffer,
    withoutResponse: boolean,
  ): void;
  notify(peripheralUuid: string, serviceUuid: string, characteristicUuid: string, notify: boolean): void;
}

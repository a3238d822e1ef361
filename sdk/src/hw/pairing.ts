/**
 * Pairing on the edge broker: what edgecore asks a mapper (open ZigBee joining, scan for BLE
 * advertisements) and what the mapper answers and reports. One definition for the three ends
 * (edgecore, the ZigBee mapper, the BLE mapper) and for the broker's ACLs: only edgecore publishes
 * a command (`PAIRING_COMMANDS`); only the mapper of that protocol publishes the rest of its
 * `edgetwin/v1/nodes/{node}/{protocol}/...` family.
 */
import type { Static } from '@sinclair/typebox';
import { Type } from '../typebox.js';

const base = (node: string, protocol: string) => `edgetwin/v1/nodes/${node}/${protocol}`;

/** ZigBee (`protocolName: zigbee`). */
export const zigbeePairingTopics = {
  /** <- `PermitJoinRequest` (edgecore). */
  permitJoin: (node: string) => `${base(node, 'zigbee')}/permit_join`,
  /** -> `PairingCommandResult` (the mapper's answer). */
  permitJoinResult: (node: string) => `${base(node, 'zigbee')}/permit_join/result`,
  /** -> retained `{devices: UndeclaredZigbeeDevice[], timestamp}`. */
  undeclared: (node: string) => `${base(node, 'zigbee')}/undeclared`,
  /** -> `ZigbeeJoinEvent`, one per join and interview step. */
  joined: (node: string) => `${base(node, 'zigbee')}/joined`,
} as const;

/** Bluetooth LE (`protocolName: bluetooth`, KubeEdge's name). */
export const blePairingTopics = {
  /** <- `BleScanRequest` (edgecore). */
  scan: (node: string) => `${base(node, 'bluetooth')}/scan`,
  /** -> `PairingCommandResult`, and `{ended:true}` when the scan window closes. */
  scanResult: (node: string) => `${base(node, 'bluetooth')}/scan/result`,
  /** -> `BleAdvertisement`, deduplicated per address and rate-bounded by the mapper. */
  advertisement: (node: string) => `${base(node, 'bluetooth')}/scan/advertisement`,
} as const;

/** Command tails per protocol: only edgecore may publish them (the broker ACLs read this). */
export const PAIRING_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  zigbee: ['permit_join'],
  bluetooth: ['scan'],
};

/** What a mapper may publish in its own family when it has commands (Mosquitto ACLs name them). */
export const PAIRING_OUTPUTS: Readonly<Record<string, readonly string[]>> = {
  zigbee: ['permit_join/result', 'undeclared', 'joined'],
  bluetooth: ['scan/result', 'scan/advertisement'],
};

export const PermitJoinRequestSchema = Type.Object(
  {
    seconds: Type.Integer({ minimum: 0, maximum: 254, description: 'how long joining stays open; 0 closes it' }),
    coordinator: Type.Optional(Type.String({ minLength: 1, description: 'only this coordinator (default: all)' })),
    id: Type.Optional(Type.String({ maxLength: 64, description: 'echoed in the result' })),
  },
  { additionalProperties: false },
);
export type PermitJoinRequest = Static<typeof PermitJoinRequestSchema>;

export const BLE_SCAN_MAX_SECONDS = 120;
export const BleScanRequestSchema = Type.Object(
  {
    seconds: Type.Integer({
      minimum: 0,
      maximum: BLE_SCAN_MAX_SECONDS,
      description: 'how long to scan; 0 stops a running scan',
    }),
    id: Type.Optional(Type.String({ maxLength: 64, description: 'echoed in the result' })),
  },
  { additionalProperties: false },
);
export type BleScanRequest = Static<typeof BleScanRequestSchema>;

/** A mapper's answer to a pairing command. */
export interface PairingCommandResult {
  id?: string;
  ok: boolean;
  seconds?: number;
  /** ZigBee: the coordinators joining was opened on. */
  coordinators?: string[];
  /** ms since epoch when the window closes. */
  until?: number;
  /** BLE: the scan window closed (`seen` addresses, `dropped` advertisements over the rate bound). */
  ended?: boolean;
  seen?: number;
  dropped?: number;
  code?: string;
  reason?: string;
}

export interface UndeclaredZigbeeDevice {
  ieeeAddress: string;
  networkAddress: number;
  coordinator: string;
  interview: string;
  modelId?: string;
  manufacturerName?: string;
  endpoints: { id: number; inputClusters: string[] }[];
}

/** A device joined (`joined`), its interview started, succeeded (model and vendor known) or failed. */
export interface ZigbeeJoinEvent {
  ieeeAddress: string;
  networkAddress: number;
  coordinator: string;
  status: 'joined' | 'started' | 'successful' | 'failed';
  modelId?: string;
  manufacturerName?: string;
  /** The Device (`ns/name`) that declares this IEEE address, if one does. */
  device?: string;
  timestamp: number;
}

export interface BleAdvertisement {
  /** `aa:bb:cc:dd:ee:ff`. */
  address: string;
  name?: string;
  rssi: number;
  serviceUuids: string[];
  /** The Device (`ns/name`) configured with this address, if one is. */
  device?: string;
  timestamp: number;
}

/**
 * The BLE simulator as a websocket server that speaks noble's websocket-bindings protocol (the
 * one of noble's ws-slave.js). A mapper started with EDGETWIN_BLE_BINDINGS=websocket connects to
 * it at ws://localhost:2846 (the port noble's websocket bindings use) and sees the simulated
 * peripherals through the unmodified noble library.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ATT_ERROR_EVENT, ATT_READ_REQUESTS, type AttErrorReport } from '../src/transport/att-errors.js';
import { SimBindings } from './bindings.js';
import { startDemoWorld } from './demo.js';
import type { SimWorld } from './world.js';

/** The port noble's websocket bindings connect to (0xB1e). */
export const NOBLE_WEBSOCKET_PORT = 2846;

export interface BleSimulatorOptions {
  /** Default 2846; 0 picks a free port (noble's websocket bindings only use 2846). */
  port?: number;
  /** Default "localhost", the host noble's websocket bindings connect to. */
  host?: string;
  /** The peripherals to serve; default: the demo world (sensor, thermometer, light). */
  world?: SimWorld;
  notifyIntervalMs?: number;
  /**
   * Answer refused requests with `attError` to clients that ask for it (default true); false
   * serves only noble's plain protocol, as simulators before the extension did.
   */
  attErrors?: boolean;
}

export interface BleSimulator {
  port: number;
  url: string;
  world: SimWorld;
  stop(): Promise<void>;
}

type Command = Record<string, unknown> & { action?: unknown };

const hex = (b: unknown): string | undefined => (Buffer.isBuffer(b) ? b.toString('hex') : undefined);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Wires one websocket client to its own bindings over the shared world. */
function serve(ws: WebSocket, world: SimWorld, attErrors: boolean): void {
  const b = new SimBindings(world);
  const send = (event: Record<string, unknown>) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
  };
  /** The client sent the hello of the ATT error extension (src/transport/websocket-att.ts). */
  let wantsAttErrors = false;
  // A refused request: the usual answer plus `attError` for clients that asked; nothing for others.
  b.on(ATT_ERROR_EVENT, (r: AttErrorReport) => {
    if (!wantsAttErrors) return;
    const { peripheralUuid, serviceUuid, characteristicUuid, requestOpcode, handle, code } = r;
    send({
      type: ATT_READ_REQUESTS.includes(requestOpcode) ? 'read' : 'write',
      peripheralUuid,
      serviceUuid,
      characteristicUuid,
      attError: { code, requestOpcode, handle },
    });
  });
  b.on('stateChange', (state: string) => send({ type: 'stateChange', state }));
  b.on(
    'discover',
    (
      peripheralUuid: string,
      address: string,
      addressType: string,
      connectable: boolean,
      adv: { localName?: string; serviceUuids: string[] },
      rssi: number,
    ) =>
      send({
        type: 'discover',
        peripheralUuid,
        address,
        addressType,
        connectable,
        rssi,
        advertisement: { localName: adv.localName, serviceUuids: adv.serviceUuids },
      }),
  );
  // The websocket protocol has no connect error: a failed connect stays unanswered (the central times out).
  b.on('connect', (peripheralUuid: string, error: Error | null) => {
    if (!error) send({ type: 'connect', peripheralUuid });
  });
  b.on('disconnect', (peripheralUuid: string) => send({ type: 'disconnect', peripheralUuid }));
  b.on('rssiUpdate', (peripheralUuid: string, rssi: number) => send({ type: 'rssiUpdate', peripheralUuid, rssi }));
  b.on('servicesDiscover', (peripheralUuid: string, serviceUuids: string[]) =>
    send({ type: 'servicesDiscover', peripheralUuid, serviceUuids }),
  );
  b.on('includedServicesDiscover', (peripheralUuid: string, serviceUuid: string, includedServiceUuids: string[]) =>
    send({ type: 'includedServicesDiscover', peripheralUuid, serviceUuid, includedServiceUuids }),
  );
  b.on('characteristicsDiscover', (peripheralUuid: string, serviceUuid: string, characteristics: unknown) =>
    send({ type: 'characteristicsDiscover', peripheralUuid, serviceUuid, characteristics }),
  );
  b.on(
    'read',
    (peripheralUuid: string, serviceUuid: string, characteristicUuid: string, data: Buffer, isNotification: boolean) =>
      send({ type: 'read', peripheralUuid, serviceUuid, characteristicUuid, data: hex(data), isNotification }),
  );
  b.on('write', (peripheralUuid: string, serviceUuid: string, characteristicUuid: string) =>
    send({ type: 'write', peripheralUuid, serviceUuid, characteristicUuid }),
  );
  b.on('broadcast', (peripheralUuid: string, serviceUuid: string, characteristicUuid: string, state: boolean) =>
    send({ type: 'broadcast', peripheralUuid, serviceUuid, characteristicUuid, state }),
  );
  b.on('notify', (peripheralUuid: string, serviceUuid: string, characteristicUuid: string, state: boolean) =>
    send({ type: 'notify', peripheralUuid, serviceUuid, characteristicUuid, state }),
  );
  b.on(
    'descriptorsDiscover',
    (peripheralUuid: string, serviceUuid: string, characteristicUuid: string, descriptors: string[]) =>
      send({ type: 'descriptorsDiscover', peripheralUuid, serviceUuid, characteristicUuid, descriptors }),
  );
  b.on(
    'valueRead',
    (peripheralUuid: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string, data: Buffer) =>
      send({ type: 'valueRead', peripheralUuid, serviceUuid, characteristicUuid, descriptorUuid, data: hex(data) }),
  );
  b.on(
    'valueWrite',
    (peripheralUuid: string, serviceUuid: string, characteristicUuid: string, descriptorUuid: string) =>
      send({ type: 'valueWrite', peripheralUuid, serviceUuid, characteristicUuid, descriptorUuid }),
  );
  b.on('handleRead', (peripheralUuid: string, handle: number, data: Buffer) =>
    send({ type: 'handleRead', peripheralUuid, handle, data: hex(data) }),
  );
  b.on('handleWrite', (peripheralUuid: string, handle: number) =>
    send({ type: 'handleWrite', peripheralUuid, handle }),
  );

  ws.on('message', (raw: Buffer) => {
    let cmd: Command;
    try {
      cmd = JSON.parse(raw.toString('utf8')) as Command;
    } catch {
      return;
    }
    const id = str(cmd.peripheralUuid);
    const s = str(cmd.serviceUuid);
    const c = str(cmd.characteristicUuid);
    const data = Buffer.from(str(cmd.data), 'hex');
    switch (cmd.action) {
      case 'edgetwin':
        wantsAttErrors = attErrors && cmd.attErrors === 1;
        return undefined;
      case 'startScanning':
        return b.startScanning(strs(cmd.serviceUuids), cmd.allowDuplicates === true);
      case 'stopScanning':
        return b.stopScanning();
      case 'connect':
        return b.connect(id);
      case 'disconnect':
        return b.disconnect(id);
      case 'updateRssi':
        return b.updateRssi(id);
      case 'discoverServices':
        return b.discoverServices(id, strs(cmd.uuids));
      case 'discoverIncludedServices':
        return b.discoverIncludedServices(id, s);
      case 'discoverCharacteristics':
        return b.discoverCharacteristics(id, s, strs(cmd.characteristicUuids));
      case 'read':
        return b.read(id, s, c);
      case 'write':
        return b.write(id, s, c, data, cmd.withoutResponse === true);
      case 'broadcast':
        return b.broadcast(id, s, c, cmd.broadcast === true);
      case 'notify':
        return b.notify(id, s, c, cmd.notify === true);
      case 'discoverDescriptors':
        return b.discoverDescriptors(id, s, c);
      case 'readValue':
        return b.readValue(id, s, c, str(cmd.descriptorUuid));
      case 'writeValue':
        return b.writeValue(id, s, c, str(cmd.descriptorUuid));
      case 'readHandle':
        return b.readHandle(id, Number(cmd.handle));
      case 'writeHandle':
        return b.writeHandle(id, Number(cmd.handle));
      default:
        return undefined;
    }
  });
  ws.on('close', () => {
    for (const p of world.peripherals.values()) b.disconnect(p.id);
    b.dispose();
  });
  b.init();
}

/** Starts the websocket BLE simulator; `stop()` closes every client and the world it created. */
export async function startBleSimulator(opts: BleSimulatorOptions = {}): Promise<BleSimulator> {
  const ownWorld = opts.world === undefined;
  const world =
    opts.world ??
    startDemoWorld(opts.notifyIntervalMs === undefined ? {} : { notifyIntervalMs: opts.notifyIntervalMs });
  const host = opts.host ?? 'localhost';
  const wss = new WebSocketServer({ port: opts.port ?? NOBLE_WEBSOCKET_PORT, host });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const attErrors = opts.attErrors ?? true;
  wss.on('connection', (ws) => serve(ws, world, attErrors));
  const port = (wss.address() as AddressInfo).port;
  return {
    port,
    url: `ws://${host}:${port}`,
    world,
    stop: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      if (ownWorld) await world.stop();
    },
  };
}

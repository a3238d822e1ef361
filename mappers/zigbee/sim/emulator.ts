/**
 * A Z-Stack 3.x ZNP coordinator emulator on TCP (`tcp://127.0.0.1:PORT`, as a ser2net bridge to a
 * CC2652 would be). It answers the MT requests zigbee-herdsman sends to form or resume a network,
 * permits joining, lets simulated end devices join and be interviewed, relays their attribute
 * reports (AF_INCOMING_MSG) and delivers herdsman's ZCL traffic to them (AF_DATA_REQUEST ->
 * AF_DATA_CONFIRM -> the device's answer).
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { NvStore, type NvSnapshot } from './nv-store.js';
import { SimDevice, type AttributeValue, type OutgoingZcl, type SimDeviceSpec } from './sim-device.js';
import { Parser, type Frame } from './znp-wire.js';
import { handleRequest } from './handlers.js';
import type { CoordinatorState, DevState, RegisteredEndpoint } from './coordinator-state.js';
import { temperatureHumiditySensor, onOffPlug } from './catalogue.js';
import { encodeAreq, encodeRawAreq, Subsystem } from './znp-wire.js';
import { endDeviceAnnounce } from './zdo.js';
import { pino } from 'pino';
import { bridgeHerdsmanLogs } from '../src/transport/herdsman-log.js';

export interface ZnpEmulatorOptions {
  /** TCP port; 0 or absent picks a free one. */
  port?: number;
  host?: string;
  /** Coordinator IEEE address, `0x` + 16 hex digits. */
  ieeeAddress?: string;
  /** Simulated devices; default: a temperature/humidity sensor and an on/off plug. */
  devices?: SimDeviceSpec[];
  /** Milliseconds between periodic sensor reports (default 5000; 0 disables). */
  reportIntervalMs?: number;
  /** Delay between permit-join and a `joinOnPermit` device joining (default 200 ms). */
  joinDelayMs?: number;
  /** JSON file keeping NV memory and joined devices across emulator restarts. */
  stateFile?: string;
  logger?: Logger;
}

interface SavedState {
  nv: NvSnapshot;
  joined: string[];
}

export class ZnpEmulator implements CoordinatorState {
  readonly nv = new NvStore();
  readonly ieeeAddress: string;
  readonly devices: SimDevice[];
  readonly endpoints = new Map<number, RegisteredEndpoint>();
  readonly groups = new Set<string>();
  devState: DevState = 0;
  primaryChannelMask: number | undefined;
  permitJoinUntil = 0;
  /** Every MT command name the host sent, in order (for tests and diagnostics). */
  readonly received: string[] = [];

  private server: Server | undefined;
  private host: Socket | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private ticker: NodeJS.Timeout | undefined;
  private boundPort = 0;
  private readonly opts: ZnpEmulatorOptions;

  constructor(opts: ZnpEmulatorOptions = {}) {
    this.opts = opts;
    this.ieeeAddress = opts.ieeeAddress ?? '0x00124b00e7e70001';
    this.devices = (opts.devices ?? [temperatureHumiditySensor(), onOffPlug()]).map((s) => new SimDevice(s));
    this.boundPort = opts.port ?? 0;
    this.loadState();
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `tcp://${this.opts.host ?? '127.0.0.1'}:${this.boundPort}`;
  }

  get log(): Logger | undefined {
    return this.opts.logger;
  }

  /** Powers the coordinator on and listens. NV memory and joined devices survive stop()/start(). */
  async start(): Promise<void> {
    if (this.server) return;
    // The emulator frames with herdsman's own modules, which log through herdsman's process-wide logger
    // (console, debug level, by default): route that into ours, or nowhere.
    bridgeHerdsmanLogs(this.opts.logger?.child({ module: 'herdsman' }) ?? pino({ level: 'silent' }));
    this.devState = 0;
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr && typeof addr === 'object') this.boundPort = addr.port;
    this.server = server;
    const every = this.opts.reportIntervalMs ?? 5000;
    if (every > 0) this.ticker = setInterval(() => this.tick(), every);
    this.log?.info({ url: this.url }, 'ZNP emulator listening');
  }

  /** Powers off: closes the listener and every connection, clears every timer, saves state. */
  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.saveTimer = false;
    this.dropConnections();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.saveState();
  }

  /** Cuts the TCP connections (the bridge lost the host) without powering the coordinator off. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.host = undefined;
  }

  device(ieee: string): SimDevice | undefined {
    return this.devices.find((d) => d.ieee === ieee.toLowerCase());
  }

  deviceByNwk(nwk: number): SimDevice | undefined {
    return this.devices.find((d) => d.nwk === nwk && d.joined);
  }

  /** Lets a device join now (as if its pairing button was pressed while joining is permitted). */
  join(ieee: string): void {
    const dev = this.device(ieee);
    if (!dev) throw new Error(`no simulated device ${ieee}`);
    dev.joined = true;
    this.log?.info({ device: ieee }, 'simulated device joins');
    this.send(encodeAreq(Subsystem.ZDO, 'tcDeviceInd', { nwkaddr: dev.nwk, extaddr: dev.ieee, parentaddr: 0 }));
    this.later(50, () => this.send(encodeRawAreq(Subsystem.ZDO, 'endDeviceAnnceInd', endDeviceAnnounce(dev))));
    this.saveState();
  }

  /** Sets an attribute on a simulated device; the device reports the new value. */
  setAttribute(ieee: string, endpoint: number, cluster: string, attribute: string, value: AttributeValue): void {
    const dev = this.device(ieee);
    if (!dev) throw new Error(`no simulated device ${ieee}`);
    const out = dev.setAttribute(endpoint, cluster, attribute, value);
    if (out && dev.joined) this.deliver(out);
  }

  getAttribute(ieee: string, endpoint: number, cluster: string, attribute: string): AttributeValue | undefined {
    return this.device(ieee)?.getAttribute(endpoint, cluster, attribute);
  }

  /** Sends a frame to the connected host (herdsman); dropped when nobody is connected. */
  send(frame: Frame): void {
    const h = this.host;
    if (!h || h.destroyed) return;
    h.write(frame.toBuffer());
  }

  /** Runs `fn` after `ms`, unless the emulator stops first. */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** A device's ZCL frame to the coordinator, as AF_INCOMING_MSG. */
  deliver(z: OutgoingZcl): void {
    if (this.devState !== 9) return;
    this.send(
      encodeAreq(Subsystem.AF, 'incomingMsg', {
        groupid: 0,
        clusterid: z.clusterId,
        srcaddr: z.device.nwk,
        srcendpoint: z.endpoint,
        dstendpoint: z.dstEndpoint,
        wasbroadcast: 0,
        linkquality: 180,
        securityuse: 0,
        timestamp: Date.now() >>> 0,
        transseqnumber: 0,
        len: z.data.length,
        data: z.data,
      }),
    );
  }

  /** Joining was permitted for `seconds`: devices that join on permit do so shortly after. */
  permitJoin(seconds: number): void {
    this.permitJoinUntil = seconds > 0 ? Date.now() + seconds * 1000 : 0;
    this.send(encodeAreq(Subsystem.ZDO, 'permitJoinInd', { duration: seconds }));
    if (seconds <= 0) return;
    for (const d of this.devices) {
      if (d.joined || !d.spec.joinOnPermit) continue;
      this.later(this.opts.joinDelayMs ?? 200, () => {
        if (!d.joined && Date.now() < this.permitJoinUntil) this.join(d.ieee);
      });
    }
  }

  /** Forgets the network (startup option "clear state"): devices have to join again. */
  clearNetwork(): void {
    for (const d of this.devices) d.joined = false;
  }

  private saveTimer = false;

  /** Saves the state shortly (NV writes come in bursts), so even a killed emulator keeps its network. */
  saveSoon(): void {
    if (!this.opts.stateFile || this.saveTimer) return;
    this.saveTimer = true;
    this.later(100, () => {
      this.saveTimer = false;
      this.saveState();
    });
  }

  saveState(): void {
    const file = this.opts.stateFile;
    if (!file) return;
    const state: SavedState = {
      nv: this.nv.snapshot(),
      joined: this.devices.filter((d) => d.joined).map((d) => d.ieee),
    };
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
  }

  private loadState(): void {
    const file = this.opts.stateFile;
    if (!file) return;
    let state: SavedState;
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as SavedState;
    } catch {
      return;
    }
    this.nv.restore(state.nv);
    for (const d of this.devices) d.joined = state.joined.includes(d.ieee);
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    // One host at a time, like a serial port: a new connection replaces the old one.
    this.dropConnections();
    this.sockets.add(socket);
    this.host = socket;
    const parser = new Parser();
    parser.on('parsed', (frame: Frame) => {
      try {
        handleRequest(this, frame);
      } catch (err) {
        this.log?.warn({ err }, 'ZNP emulator failed to handle a frame');
      }
    });
    socket.pipe(parser);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.host === socket) this.host = undefined;
    });
  }

  private tick(): void {
    if (this.devState !== 9 || !this.host) return;
    for (const d of this.devices) {
      if (!d.joined) continue;
      for (const z of d.tick()) this.deliver(z);
    }
  }
}

/** Starts an emulator (see ZnpEmulatorOptions); stop it with `stop()`. */
export async function startZnpEmulator(opts: ZnpEmulatorOptions = {}): Promise<ZnpEmulator> {
  const emu = new ZnpEmulator(opts);
  await emu.start();
  return emu;
}

/**
 * edgecore's side of pairing: asks a protocol's mapper over the edge broker to open ZigBee joining
 * or to scan for BLE advertisements (the topics of `@edgetwin/sdk`'s pairing contract, which only
 * edgecore may publish), waits for the mapper's answer, and turns what the mappers report (joins,
 * interviews, advertisements, the end of a window) into events for the HTTP API. Its MQTT
 * connection (edgecore's identity) opens on the first use, not at start.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  EdgeTwinError,
  blePairingTopics,
  errorMessage,
  zigbeePairingTopics,
  type BleAdvertisement,
  type PairingCommandResult,
  type ZigbeeJoinEvent,
} from '@edgetwin/sdk';
import type { MqttConnection } from '@edgetwin/sdk/mqtt';

export const PAIRING_PROTOCOLS = ['zigbee', 'bluetooth'] as const;
export type PairingProtocol = (typeof PAIRING_PROTOCOLS)[number];

export interface PairingWindow {
  protocol: PairingProtocol;
  seconds: number;
  /** ms since epoch when it closes. */
  until: number;
  coordinators?: string[];
}

export type PairingEvent =
  | ({ type: 'window' } & PairingWindow)
  | { type: 'window-end'; protocol: PairingProtocol; reason: 'elapsed' | 'stopped'; seen?: number; dropped?: number }
  | ({ type: 'zigbee-device' } & ZigbeeJoinEvent)
  | ({ type: 'ble-advertisement' } & BleAdvertisement);

export interface PairingServiceOptions {
  nodeName: string;
  logger: Logger;
  /** Opens edgecore's connection to the edge broker (called once, on first use). */
  connect(clientId: string): Promise<MqttConnection>;
  /** Why the protocol's mapper cannot take a command now, or undefined when it may. */
  mapperProblem(protocol: PairingProtocol): string | undefined;
  /** How long to wait for the mapper's answer (default 10 s). */
  answerTimeoutMs?: number;
  /** Events kept for late readers (default 200). */
  keep?: number;
}

/** A refusal with the HTTP status it deserves. */
export class PairingError extends EdgeTwinError {
  constructor(
    readonly status: number,
    code: ConstructorParameters<typeof EdgeTwinError>[0],
    message: string,
  ) {
    super(code, message);
  }
}

export class PairingService extends EventEmitter<{ event: [PairingEvent] }> {
  private conn: Promise<MqttConnection> | undefined;
  private readonly pending = new Map<string, (r: PairingCommandResult) => void>();
  private readonly windows = new Map<PairingProtocol, PairingWindow & { timer: NodeJS.Timeout }>();
  /** Protocols whose window an admin is closing (see close()). */
  private readonly closing = new Set<PairingProtocol>();
  private readonly recent: PairingEvent[] = [];
  private stopped = false;

  constructor(private readonly opts: PairingServiceOptions) {
    super();
  }

  /** Open windows and the latest events, for a reader that just arrived. */
  snapshot(): { windows: PairingWindow[]; events: PairingEvent[] } {
    return {
      windows: [...this.windows.values()].map(({ timer: _t, ...w }) => w),
      events: [...this.recent],
    };
  }

  /** Connects now (a reader wants to hear joins and advertisements as they come). */
  async listen(): Promise<void> {
    await this.connection();
  }

  permitJoin(seconds: number): Promise<PairingWindow> {
    return this.open('zigbee', seconds);
  }

  scan(seconds: number): Promise<PairingWindow> {
    return this.open('bluetooth', seconds);
  }

  async close(protocol: PairingProtocol): Promise<void> {
    // The BLE mapper says its scan ended (with its counts) before it answers the command: that end
    // was asked for, so it is 'stopped', not 'elapsed'.
    this.closing.add(protocol);
    try {
      await this.command(protocol, 0);
      this.end(protocol, 'stopped');
    } finally {
      this.closing.delete(protocol);
    }
  }

  private async open(protocol: PairingProtocol, seconds: number): Promise<PairingWindow> {
    // A new round starts a new list, before the command: devices may join before its answer arrives.
    const fresh = this.windows.size === 0;
    const r = await this.command(protocol, seconds, () => {
      if (fresh && this.windows.size === 0) this.recent.splice(0);
    });
    const until = r.until ?? Date.now() + seconds * 1000;
    const w: PairingWindow = { protocol, seconds, until, ...(r.coordinators ? { coordinators: r.coordinators } : {}) };
    const old = this.windows.get(protocol);
    if (old) clearTimeout(old.timer);
    // BLE: the mapper says when its scan ended (with counts); this timer is the fallback.
    const grace = protocol === 'bluetooth' ? 3000 : 0;
    const timer = setTimeout(() => this.end(protocol, 'elapsed'), Math.max(0, until - Date.now()) + grace);
    timer.unref();
    this.windows.set(protocol, { ...w, timer });
    this.emitEvent({ type: 'window', ...w });
    return w;
  }

  private end(
    protocol: PairingProtocol,
    reason: 'elapsed' | 'stopped',
    counts: { seen?: number; dropped?: number } = {},
  ) {
    const w = this.windows.get(protocol);
    if (!w) return;
    clearTimeout(w.timer);
    this.windows.delete(protocol);
    this.emitEvent({ type: 'window-end', protocol, reason, ...counts });
  }

  private emitEvent(e: PairingEvent): void {
    this.recent.push(e);
    if (this.recent.length > (this.opts.keep ?? 200)) this.recent.shift();
    this.emit('event', e);
  }

  /** Publishes the command and waits for the mapper's answer; refusals become PairingErrors. */
  private async command(
    protocol: PairingProtocol,
    seconds: number,
    beforeSend?: () => void,
  ): Promise<PairingCommandResult> {
    const problem = this.opts.mapperProblem(protocol);
    if (problem) throw new PairingError(503, 'ET_UNAVAILABLE', problem);
    const conn = await this.connection();
    const id = randomUUID();
    const topic =
      protocol === 'zigbee'
        ? zigbeePairingTopics.permitJoin(this.opts.nodeName)
        : blePairingTopics.scan(this.opts.nodeName);
    const timeoutMs = this.opts.answerTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<PairingCommandResult>((resolve, reject) => {
      this.pending.set(id, resolve);
      timer = setTimeout(
        () =>
          reject(
            new PairingError(
              504,
              'ET_TIMEOUT',
              `the ${protocol} mapper did not answer within ${timeoutMs / 1000} s; see its state and last error in GET /api/v1/node`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      beforeSend?.();
      await conn.publishAsync(topic, JSON.stringify({ seconds, id }), 1);
      const r = await answer;
      if (!r.ok) {
        const code = r.code ?? 'ET_INTERNAL';
        const status = code === 'ET_SCHEMA' ? 400 : code === 'ET_UNAVAILABLE' ? 503 : 409;
        throw new PairingError(
          status,
          code as ConstructorParameters<typeof EdgeTwinError>[0],
          `the ${protocol} mapper refused: ${r.reason ?? code}`,
        );
      }
      return r;
    } finally {
      clearTimeout(timer);
      this.pending.delete(id);
    }
  }

  private connection(): Promise<MqttConnection> {
    if (this.stopped) return Promise.reject(new EdgeTwinError('ET_UNAVAILABLE', 'edgecore is stopping'));
    this.conn ??= (async () => {
      const conn = await this.opts.connect(`edgecore-${this.opts.nodeName}-pairing`);
      conn.setMessageHandler((topic, payload, done) => {
        done();
        this.onMessage(topic, payload);
      });
      const node = this.opts.nodeName;
      await conn.subscribe(
        [
          zigbeePairingTopics.permitJoinResult(node),
          zigbeePairingTopics.joined(node),
          blePairingTopics.scanResult(node),
          blePairingTopics.advertisement(node),
        ],
        1,
      );
      return conn;
    })();
    this.conn.catch(() => (this.conn = undefined));
    return this.conn;
  }

  private onMessage(topic: string, payload: Buffer): void {
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      this.opts.logger.warn({ topic, err: errorMessage(err) }, 'a pairing message that is not JSON was ignored');
      return;
    }
    if (typeof body !== 'object' || body === null) return;
    const node = this.opts.nodeName;
    if (topic === zigbeePairingTopics.permitJoinResult(node) || topic === blePairingTopics.scanResult(node)) {
      const r = body as PairingCommandResult;
      if (r.ended && topic === blePairingTopics.scanResult(node)) {
        this.end('bluetooth', this.closing.has('bluetooth') ? 'stopped' : 'elapsed', {
          ...(typeof r.seen === 'number' ? { seen: r.seen } : {}),
          ...(typeof r.dropped === 'number' ? { dropped: r.dropped } : {}),
        });
        return;
      }
      if (typeof r.id === 'string') this.pending.get(r.id)?.(r);
    } else if (topic === zigbeePairingTopics.joined(node)) {
      const e = body as ZigbeeJoinEvent;
      if (typeof e.ieeeAddress === 'string') this.emitEvent({ ...e, type: 'zigbee-device' });
    } else if (topic === blePairingTopics.advertisement(node)) {
      const a = body as BleAdvertisement;
      if (typeof a.address === 'string' && this.windows.has('bluetooth'))
        this.emitEvent({ ...a, type: 'ble-advertisement' });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
    this.removeAllListeners();
    const conn = await this.conn?.catch(() => undefined);
    this.conn = undefined;
    await conn?.end();
  }
}

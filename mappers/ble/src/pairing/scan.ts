/**
 * BLE pairing scans: edgecore publishes `{"seconds":N}` on `edgetwin/v1/nodes/{node}/bluetooth/scan`
 * (0 stops a scan), the mapper answers on `.../scan/result`, keeps the adapter scanning for N
 * seconds and publishes what noble discovers on `.../scan/advertisement`: each address once when
 * first seen, again only when its name or service list changes or `repeatMs` has passed, and at
 * most `maxPerSecond` messages a second overall (the rest are counted as dropped). When the window
 * closes it publishes `{"ended":true,"seen":N,"dropped":M}` on the result topic.
 */
import {
  BleScanRequestSchema,
  EdgeTwinError,
  blePairingTopics,
  errorMessage,
  isEdgeTwinError,
  parseWithSchema,
  type BleAdvertisement,
  type BleScanRequest,
  type PairingCommandResult,
} from '@edgetwin/sdk';
import type { MapperContext } from '@edgetwin/sdk/mapper';
import { normalizeMac } from '../config.js';
import type { BleAdapter } from '../transport/adapter.js';
import type { NoblePeripheral } from '../transport/noble-types.js';

export interface BleScannerOptions {
  ctx: MapperContext;
  /** The shared adapter, powered on (loads noble on first use). */
  adapter(): Promise<BleAdapter>;
  /** The Device configured with this address, if any. */
  deviceOf(mac: string): string | undefined;
  /** Per address, an unchanged advertisement is repeated at most this often (ms, default 5000). */
  repeatMs?: number;
  /** Advertisements published per second at most (default 20). */
  maxPerSecond?: number;
  /** Addresses remembered per window (default 1000); more are counted as dropped. */
  maxAddresses?: number;
}

interface Seen {
  sentAt: number;
  key: string;
}

interface Window {
  id: string | undefined;
  until: number;
  timer: NodeJS.Timeout;
  release: () => void;
  seen: Map<string, Seen>;
  dropped: number;
  bucket: { second: number; sent: number };
}

export function parseScanRequest(payload: Buffer): BleScanRequest {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new EdgeTwinError('ET_SCHEMA', `scan payload is not JSON (${errorMessage(err)}); send {"seconds":30}`);
  }
  return parseWithSchema(BleScanRequestSchema, json, 'scan request');
}

export class BleScanner {
  private window: Window | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private stopped = false;
  private readonly repeatMs: number;
  private readonly maxPerSecond: number;
  private readonly maxAddresses: number;

  constructor(private readonly opts: BleScannerOptions) {
    this.repeatMs = opts.repeatMs ?? 5000;
    this.maxPerSecond = opts.maxPerSecond ?? 20;
    this.maxAddresses = opts.maxAddresses ?? 1000;
  }

  async start(): Promise<void> {
    const { mqtt, nodeName } = this.opts.ctx;
    const off = await mqtt.subscribe(blePairingTopics.scan(nodeName), (_t, payload) => void this.onRequest(payload));
    if (this.stopped) await off();
    else this.unsubscribe = off;
  }

  private publish(topic: string, body: object): Promise<void> {
    return this.opts.ctx.mqtt
      .publish(topic, JSON.stringify(body), { qos: 1 })
      .catch((err: unknown) => this.opts.ctx.logger.debug({ err: errorMessage(err) }, `cannot publish on ${topic}`));
  }

  async onRequest(payload: Buffer): Promise<void> {
    const log = this.opts.ctx.logger;
    let result: PairingCommandResult;
    let id: string | undefined;
    try {
      const req = parseScanRequest(payload);
      id = req.id;
      if (req.seconds === 0) {
        await this.end();
        result = { ok: true, seconds: 0, until: Date.now() };
      } else {
        const adapter = await this.opts.adapter();
        if (this.stopped) throw new EdgeTwinError('ET_UNAVAILABLE', 'the BLE mapper is stopping');
        const until = Date.now() + req.seconds * 1000;
        this.open(adapter, req.seconds, id);
        log.info({ seconds: req.seconds }, `scanning for BLE advertisements for ${req.seconds} s`);
        result = { ok: true, seconds: req.seconds, until };
      }
    } catch (err) {
      const code = isEdgeTwinError(err) ? err.code : 'ET_INTERNAL';
      log.warn({ code }, `scan request refused: ${errorMessage(err)}`);
      result = { ok: false, code, reason: errorMessage(err) };
    }
    if (id !== undefined) result.id = id;
    await this.publish(blePairingTopics.scanResult(this.opts.ctx.nodeName), result);
  }

  /** Opens a window, or moves the end of the open one (what has been seen stays seen). */
  private open(adapter: BleAdapter, seconds: number, id: string | undefined): void {
    const w = this.window;
    const timer = setTimeout(() => void this.end(), seconds * 1000);
    timer.unref();
    if (w) {
      clearTimeout(w.timer);
      w.timer = timer;
      w.until = Date.now() + seconds * 1000;
      w.id = id;
      return;
    }
    const fresh: Window = {
      id,
      until: Date.now() + seconds * 1000,
      timer,
      release: () => undefined,
      seen: new Map(),
      dropped: 0,
      bucket: { second: 0, sent: 0 },
    };
    this.window = fresh;
    fresh.release = adapter.listen((p) => this.onDiscover(fresh, p));
  }

  private onDiscover(w: Window, p: NoblePeripheral): void {
    if (this.window !== w) return;
    const address = normalizeMac(p.address || p.id);
    const name = p.advertisement.localName || undefined;
    const serviceUuids = [...(p.advertisement.serviceUuids ?? [])].sort();
    const key = `${name ?? ''}|${serviceUuids.join(',')}`;
    const now = Date.now();
    const prev = w.seen.get(address);
    if (prev && prev.key === key && now - prev.sentAt < this.repeatMs) return;
    if (!prev && w.seen.size >= this.maxAddresses) {
      w.dropped++;
      return;
    }
    const second = Math.floor(now / 1000);
    if (w.bucket.second !== second) w.bucket = { second, sent: 0 };
    if (w.bucket.sent >= this.maxPerSecond) {
      w.dropped++;
      return;
    }
    w.bucket.sent++;
    w.seen.set(address, { sentAt: now, key });
    const device = this.opts.deviceOf(address);
    const ad: BleAdvertisement = {
      address,
      ...(name ? { name } : {}),
      rssi: p.rssi,
      serviceUuids,
      ...(device ? { device } : {}),
      timestamp: now,
    };
    void this.publish(blePairingTopics.advertisement(this.opts.ctx.nodeName), ad);
  }

  /** Closes the open window (if any) and says so on the result topic. */
  private async end(quiet = false): Promise<void> {
    const w = this.window;
    if (!w) return;
    this.window = undefined;
    clearTimeout(w.timer);
    w.release();
    this.opts.ctx.logger.info({ seen: w.seen.size, dropped: w.dropped }, 'BLE scan window closed');
    if (quiet) return;
    await this.publish(blePairingTopics.scanResult(this.opts.ctx.nodeName), {
      ok: true,
      ended: true,
      seen: w.seen.size,
      dropped: w.dropped,
      ...(w.id !== undefined ? { id: w.id } : {}),
    } satisfies PairingCommandResult);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.end(true);
    await this.unsubscribe?.().catch(() => undefined);
    this.unsubscribe = undefined;
  }
}

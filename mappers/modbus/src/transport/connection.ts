/**
 * One Modbus connection (a TCP socket or a serial port) shared by every slave behind it. Requests
 * are serialized (one transaction on the wire at a time, as a serial bus requires); a slave that
 * times out is skipped with exponential backoff so it does not slow the other slaves.
 */
import { EventEmitter } from 'node:events';
import ModbusSerial from 'modbus-serial';
import type { Logger } from 'pino';
import { EdgeTwinError } from '@edgetwin/sdk';
import { Backoff, systemClock, type Clock } from '@edgetwin/sdk/util';
import { isPortClosed, isTimeout, toEdgeTwinError } from './errors.js';

type Client = InstanceType<typeof ModbusSerial.default>;

export type Endpoint =
  | { kind: 'tcp'; host: string; port: number }
  | {
      kind: 'rtu';
      path: string;
      baudRate: number;
      dataBits: number;
      parity: 'none' | 'even' | 'odd';
      stopBits: number;
    };

export function endpointKey(e: Endpoint): string {
  return e.kind === 'tcp' ? `tcp://${e.host}:${e.port}` : `rtu:${e.path}`;
}

export type ModbusRequest =
  | { fn: 1 | 2 | 3 | 4; slaveId: number; address: number; count: number }
  | { fn: 5; slaveId: number; address: number; value: boolean }
  | { fn: 6; slaveId: number; address: number; value: number }
  | { fn: 15; slaveId: number; address: number; values: boolean[] }
  | { fn: 16; slaveId: number; address: number; values: number[] };

/** Registers for functions 3 and 4, bits for 1 and 2, nothing for writes. */
export type ModbusResult = number[] | boolean[] | undefined;

export interface ConnectionOptions {
  logger: Logger;
  clock?: Clock;
  connectTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
}

interface SlaveHealth {
  backoff: Backoff;
  /** Clock time before which requests to the slave fail fast. */
  until: number;
}

export class ModbusConnection {
  readonly key: string;
  private readonly client: Client;
  private readonly events = new EventEmitter();
  private readonly clock: Clock;
  private readonly slaves = new Map<number, SlaveHealth>();
  private tail: Promise<void> = Promise.resolve();
  private lost = false;
  private closed = false;
  /** Requests sent on the wire (for metrics and the benchmark). */
  requestCount = 0;

  constructor(
    readonly endpoint: Endpoint,
    private readonly opts: ConnectionOptions,
  ) {
    this.key = endpointKey(endpoint);
    this.clock = opts.clock ?? systemClock;
    this.client = new ModbusSerial.default();
    const emitter = this.client as unknown as EventEmitter;
    emitter.on('close', () => this.markLost(new Error(`connection ${this.key} closed`)));
    emitter.on('error', (err: unknown) => this.markLost(err instanceof Error ? err : new Error(String(err))));
  }

  get isOpen(): boolean {
    return !this.lost && !this.closed && this.client.isOpen;
  }

  /** Opens the socket or serial port; rejects with ET_UNAVAILABLE or ET_TIMEOUT. */
  async open(signal: AbortSignal): Promise<void> {
    const e = this.endpoint;
    const timeoutMs = this.opts.connectTimeoutMs ?? 5000;
    const opening =
      e.kind === 'tcp'
        ? this.client.connectTCP(e.host, { port: e.port, keepAlive: true, keepAliveInitialDelay: 10_000 })
        : this.client.connectRTUBuffered(e.path, {
            baudRate: e.baudRate,
            dataBits: e.dataBits,
            parity: e.parity,
            stopBits: e.stopBits,
          });
    opening.catch(() => undefined); // the race below reports it
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        opening,
        new Promise<never>((_, reject) => {
          timer = this.clock.setTimeout(
            () => reject(new EdgeTwinError('ET_TIMEOUT', `opening ${this.key} took longer than ${timeoutMs} ms`)),
            timeoutMs,
          );
          onAbort = () => reject(new EdgeTwinError('ET_ABORTED', `opening ${this.key} was cancelled`));
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } catch (err) {
      this.destroy();
      if (err instanceof EdgeTwinError) throw err;
      throw new EdgeTwinError(
        'ET_UNAVAILABLE',
        `cannot open Modbus ${this.key}: ${err instanceof Error ? err.message : String(err)}; check the address and that the device is on`,
        { cause: err, details: { endpoint: this.key } },
      );
    } finally {
      if (timer) this.clock.clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /** Listens for the loss of the connection; returns the unsubscribe function. */
  onLost(listener: (err: Error) => void): () => void {
    this.events.on('lost', listener);
    return () => this.events.off('lost', listener);
  }

  /**
   * Queues a request behind the others on this connection. Rejects with EdgeTwinError:
   * ET_PROTOCOL (exception), ET_TIMEOUT, ET_UNAVAILABLE (closed, or the slave is backing off).
   */
  request(req: ModbusRequest, timeoutMs: number, signal: AbortSignal, log?: Logger): Promise<ModbusResult> {
    return new Promise<ModbusResult>((resolve, reject) => {
      const onAbort = () => reject(new EdgeTwinError('ET_ABORTED', `request to slave ${req.slaveId} was cancelled`));
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      const task = async (): Promise<void> => {
        if (signal.aborted) return;
        try {
          resolve(await this.execute(req, timeoutMs, log ?? this.opts.logger));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
      };
      this.tail = this.tail.then(task);
    });
  }

  private async execute(req: ModbusRequest, timeoutMs: number, log: Logger): Promise<ModbusResult> {
    const info = { slaveId: req.slaveId, function: req.fn, address: req.address };
    if (this.lost || this.closed || !this.client.isOpen) {
      throw toEdgeTwinError({ message: 'Port Not Open' }, info, timeoutMs);
    }
    const health = this.slaves.get(req.slaveId);
    const now = this.clock.now();
    if (health && now < health.until) {
      throw new EdgeTwinError(
        'ET_UNAVAILABLE',
        `slave ${req.slaveId} on ${this.key} did not answer recently; next try in ${health.until - now} ms`,
        { details: { ...info, exceptionCode: undefined, backoffMs: health.until - now } },
      );
    }
    this.client.setID(req.slaveId);
    this.client.setTimeout(timeoutMs);
    this.requestCount++;
    try {
      const result = await this.call(req);
      health?.backoff.reset();
      this.slaves.delete(req.slaveId);
      return result;
    } catch (err) {
      const mapped = toEdgeTwinError(err, info, timeoutMs);
      if (isTimeout(err)) {
        const h = health ?? {
          backoff: new Backoff({
            initialMs: this.opts.backoff?.initialMs ?? 1000,
            maxMs: this.opts.backoff?.maxMs ?? 30_000,
          }),
          until: 0,
        };
        h.until = this.clock.now() + h.backoff.next();
        this.slaves.set(req.slaveId, h);
      }
      log.warn(
        { slaveId: req.slaveId, function: req.fn, address: req.address, exceptionCode: mapped.details.exceptionCode },
        mapped.message,
      );
      if (isPortClosed(err)) this.markLost(mapped);
      throw mapped;
    }
  }

  private async call(req: ModbusRequest): Promise<ModbusResult> {
    const c = this.client;
    switch (req.fn) {
      case 1:
        return (await c.readCoils(req.address, req.count)).data.slice(0, req.count);
      case 2:
        return (await c.readDiscreteInputs(req.address, req.count)).data.slice(0, req.count);
      case 3:
        return (await c.readHoldingRegisters(req.address, req.count)).data;
      case 4:
        return (await c.readInputRegisters(req.address, req.count)).data;
      case 5:
        await c.writeCoil(req.address, req.value);
        return undefined;
      case 6:
        await c.writeRegister(req.address, req.value);
        return undefined;
      case 15:
        await c.writeCoils(req.address, req.values);
        return undefined;
      case 16:
        await c.writeRegisters(req.address, req.values);
        return undefined;
    }
  }

  private markLost(err: Error): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    this.opts.logger.warn({ endpoint: this.key, err: err.message }, `Modbus connection ${this.key} lost`);
    this.events.emit('lost', err);
  }

  private destroy(): void {
    try {
      this.client.destroy();
    } catch {
      // already gone
    }
  }

  /** Closes the socket or port once queued requests are done (at most `graceMs`). */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    await Promise.race([this.tail, new Promise<void>((r) => (timer = this.clock.setTimeout(r, graceMs)))]);
    if (timer) this.clock.clearTimeout(timer);
    this.events.removeAllListeners();
    await new Promise<void>((resolve) => {
      if (!this.client.isOpen) {
        this.destroy();
        resolve();
        return;
      }
      const t = this.clock.setTimeout(() => {
        this.destroy();
        resolve();
      }, 1000);
      this.client.close(() => {
        this.clock.clearTimeout(t);
        resolve();
      });
    });
  }
}

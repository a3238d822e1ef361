/**
 * Desired values: deltas from edgecore and, when a session starts, the desired values edgecore
 * already holds (twin/get). ReadOnly and out-of-range values are refused with a log line and an
 * unhealthy note; the rest are coerced to the model type, written one at a time, and the value
 * read back is reported at once.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { validateDesired, valuesEqual, type TwinValue } from '../twin/values.js';
import type { Clock } from '../util/clock.js';
import { callWithTimeout } from './call.js';
import type { HwClient } from './hw-client.js';
import type { ReadResults } from './poller.js';
import type { Reporter } from './reporter.js';
import type { DeviceSession, MapperDevice, MapperProperty } from './types.js';

export interface DesiredWriterOptions {
  device: MapperDevice<unknown, unknown>;
  logger: Logger;
  clock: Clock;
  callTimeoutMs: number;
  reporter: Reporter;
  hw: HwClient;
  session(): DeviceSession<unknown> | undefined;
  readOne(p: MapperProperty<unknown>): Promise<ReadResults> | undefined;
  onProblem(message: string): void;
  signal: AbortSignal;
}

export class DesiredWriter {
  private chain: Promise<void> = Promise.resolve();
  /** Latest value seen from the device, per property. */
  private readonly current = new Map<string, TwinValue>();
  /** `property=value` pairs already refused, so a repeated delta is not flagged again. */
  private readonly refused = new Set<string>();
  /** Deltas that arrived while the device was disconnected. */
  private readonly waiting = new Map<string, unknown>();

  constructor(private readonly opts: DesiredWriterOptions) {}

  observed(property: string, value: TwinValue): void {
    this.current.set(property, value);
  }

  apply(delta: Record<string, unknown>): void {
    this.chain = this.chain.then(() => this.write(delta)).catch((err) => this.failed(err));
  }

  /** A session started: apply what edgecore holds as desired (and deltas that came meanwhile). */
  connected(): void {
    this.chain = this.chain
      .then(async () => {
        const wanted: Record<string, unknown> = Object.fromEntries(this.waiting);
        this.waiting.clear();
        try {
          const twin = await callWithTimeout(() => this.opts.hw.twinGet(this.opts.device), {
            timeoutMs: this.opts.callTimeoutMs,
            clock: this.opts.clock,
            signal: this.opts.signal,
            what: `twin/get of device ${this.opts.device.id}`,
          });
          for (const p of this.opts.device.properties) {
            const t = twin[p.name];
            const expected = t?.expected?.value;
            if (expected === undefined || expected === '') continue;
            const actual = t?.actual?.value;
            if (actual !== undefined && valuesEqual(p.model.type, expected, actual)) continue;
            if (p.model.accessMode === 'ReadOnly') continue; // twin/get holds no request to refuse
            wanted[p.name] = expected;
          }
        } catch (err) {
          this.opts.logger.warn(
            { err: errorMessage(err) },
            `could not get the twin of device ${this.opts.device.id} to apply desired values already set: ${errorMessage(err)}`,
          );
        }
        if (Object.keys(wanted).length > 0) await this.write(wanted);
      })
      .catch((err) => this.failed(err));
  }

  private failed(err: unknown): void {
    this.opts.logger.error(
      { err: errorMessage(err) },
      `applying desired values to ${this.opts.device.id} failed: ${errorMessage(err)}`,
    );
  }

  /** Resolves when no write is in flight. */
  async idle(): Promise<void> {
    await this.chain;
  }

  private async write(delta: Record<string, unknown>): Promise<void> {
    const { device, logger } = this.opts;
    for (const [name, raw] of Object.entries(delta)) {
      if (this.opts.signal.aborted) return;
      const prop = device.properties.find((p) => p.name === name);
      if (!prop) {
        logger.warn(
          { property: name },
          `desired value for device ${device.id} names property ${name}, which the device does not list; ignored`,
        );
        continue;
      }
      let value: TwinValue;
      try {
        value = validateDesired(prop.model, raw);
      } catch (err) {
        this.refuse(prop, raw, err);
        continue;
      }
      const now = this.current.get(name);
      if (now !== undefined && valuesEqual(prop.model.type, now, value)) {
        // Already there. Report it unless that was the last report (a delta computed before it).
        const last = this.opts.reporter.lastReported(name);
        if (last === undefined || !valuesEqual(prop.model.type, last, now)) {
          this.opts.reporter.offer(name, { value: now }, true);
          await this.opts.reporter.flush([name]);
        }
        continue;
      }
      const session = this.opts.session();
      if (!session) {
        this.waiting.set(name, raw);
        logger.info(
          { property: name },
          `device ${device.id} is not connected; ${name}=${String(raw)} is written once it is`,
        );
        continue;
      }
      await this.writeOne(session, prop, value);
    }
  }

  private async writeOne(
    session: DeviceSession<unknown>,
    prop: MapperProperty<unknown>,
    value: TwinValue,
  ): Promise<void> {
    const { device, logger, reporter } = this.opts;
    try {
      let reading = await callWithTimeout((s) => session.write(prop, value, s), {
        timeoutMs: this.opts.callTimeoutMs,
        clock: this.opts.clock,
        signal: this.opts.signal,
        what: `write of device ${device.id} property ${prop.name}`,
      });
      if (!reading) {
        const r = (await this.opts.readOne(prop))?.get(prop.name);
        reading = r instanceof Error || r === undefined ? { value } : r;
      }
      this.current.set(prop.name, reading.value);
      logger.info(
        { property: prop.name },
        `wrote ${prop.name}=${String(value)} to device ${device.id}; it reads back ${String(reading.value)}`,
      );
      reporter.offer(prop.name, reading, true);
      await reporter.flush([prop.name]);
    } catch (err) {
      if (this.opts.signal.aborted) return;
      const msg = `writing ${prop.name}=${String(value)} to device ${device.id} failed: ${errorMessage(err)}`;
      logger.warn({ property: prop.name, err: errorMessage(err) }, msg);
      this.opts.onProblem(msg);
    }
  }

  private refuse(prop: MapperProperty<unknown>, raw: unknown, err: unknown): void {
    const key = `${prop.name}=${String(raw)}`;
    const msg = `refused desired value ${JSON.stringify(raw)} for device ${this.opts.device.id} property ${prop.name}: ${errorMessage(err)}`;
    if (this.refused.has(key)) {
      this.opts.logger.debug({ property: prop.name }, msg);
      return;
    }
    this.refused.add(key);
    this.opts.logger.warn({ property: prop.name, code: (err as { code?: string }).code }, msg);
    this.opts.onProblem(msg);
  }
}

/**
 * Desired values, as edgecore sends them in the DMI Device (RegisterDevice, UpdateDevice): applied
 * when they change and, when a session starts, those not yet handled. Each desired version is
 * handled once (edgecore's `version` metadata; a version whose write already has an outcome,
 * `status` metadata, is not written again, e.g. after a mapper restart): refused when it does not fit
 * the property (ReadOnly, out of range), reported applied when the device already holds it, or
 * written with bounded retries (write-attempt.ts). Its outcome (applied with the value read
 * back, or failed with the device's code) goes to edgecore with the reported value.
 */
import type { Logger } from 'pino';
import { errorMessage, isEdgeTwinError } from '../errors.js';
import type { DmiDesired } from '../dmi/convert.js';
import { validateDesired, valuesEqual, type TwinValue } from '../schema/values.js';
import { clip, WRITE_REASON_MAX } from '../schema/write-status.js';
import type { Clock } from '../util/clock.js';
import type { ReadResults } from './poller.js';
import type { Reporter } from './reporter.js';
import type { DeviceSession, MapperDevice, MapperProperty } from './types.js';
import { sameOnDevice, writeUntilApplied } from './write-attempt.js';

/** A desired value to apply, with the desired version edgecore gave it when known. */
interface Wanted {
  raw: unknown;
  version: number | undefined;
}

export interface DesiredWriterOptions {
  device: MapperDevice<unknown, unknown>;
  logger: Logger;
  clock: Clock;
  callTimeoutMs: number;
  reporter: Reporter;
  session(): DeviceSession<unknown> | undefined;
  readOne(p: MapperProperty<unknown>): Promise<ReadResults> | undefined;
  onProblem(message: string): void;
  signal: AbortSignal;
  /** Writes per desired value at most (default 3). */
  maxWriteAttempts?: number;
  /** First pause between write attempts in ms (default 200, doubling). */
  writeRetryDelayMs?: number;
}

export class DesiredWriter {
  private chain: Promise<void> = Promise.resolve();
  /** Latest value seen from the device, per property. */
  private readonly current = new Map<string, TwinValue>();
  /** Per property, the desired value (version) already handled: it is not written again. */
  private readonly done = new Map<string, string>();
  /** Desired values that arrived while the device was disconnected. */
  private readonly waiting = new Map<string, Wanted>();
  /** The desired values edgecore holds, as last sent (applied when a session starts). */
  private latest = new Map<string, DmiDesired>();

  constructor(private readonly opts: DesiredWriterOptions) {}

  observed(property: string, value: TwinValue): void {
    this.current.set(property, value);
  }

  /**
   * The desired values of the device as edgecore sent them (RegisterDevice or UpdateDevice):
   * those that changed since the last message are applied; all are kept for the next session.
   */
  set(desired: ReadonlyMap<string, DmiDesired>, connected: boolean): void {
    const before = this.latest;
    this.latest = new Map(desired);
    if (!connected) return; // applied by connected()
    const wanted = new Map<string, Wanted>();
    for (const [name, d] of desired) {
      const old = before.get(name);
      if (old && old.value === d.value && old.version === d.version) continue;
      if (d.status) continue; // that version was already written (or refused)
      wanted.set(name, { raw: d.value, version: d.version });
    }
    if (wanted.size === 0) return;
    this.chain = this.chain.then(() => this.write(wanted)).catch((err) => this.failed(err));
  }

  /** A session started: apply the desired values not handled yet (and those that came meanwhile). */
  connected(): void {
    this.chain = this.chain
      .then(async () => {
        const wanted = new Map(this.waiting);
        this.waiting.clear();
        for (const p of this.opts.device.properties) {
          const d = this.latest.get(p.name);
          if (!d || wanted.has(p.name) || d.status) continue; // handled once means once
          wanted.set(p.name, { raw: d.value, version: d.version });
        }
        if (wanted.size > 0) await this.write(wanted);
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

  private async write(wanted: Map<string, Wanted>): Promise<void> {
    const { device, logger } = this.opts;
    for (const [name, w] of wanted) {
      if (this.opts.signal.aborted) return;
      const prop = device.properties.find((p) => p.name === name);
      if (!prop) {
        logger.warn(
          { property: name },
          `desired value for device ${device.id} names property ${name}, which the device does not list; ignored`,
        );
        continue;
      }
      const key = w.version !== undefined ? `v${w.version}` : `=${JSON.stringify(w.raw)}`;
      if (this.done.get(name) === key) {
        logger.debug(
          { property: name },
          `desired ${name} (${key}) of ${device.id} was already handled; not written again`,
        );
        continue;
      }
      let value: TwinValue;
      try {
        value = validateDesired(prop.model, w.raw);
      } catch (err) {
        this.done.set(name, key);
        await this.fail(
          prop,
          w,
          isEdgeTwinError(err) ? err.code : 'ET_BAD_VALUE',
          `refused desired value ${JSON.stringify(w.raw)} for device ${device.id} property ${name}: ${errorMessage(err)}`,
        );
        continue;
      }
      const session = this.opts.session();
      const now = this.current.get(name);
      const there =
        now !== undefined &&
        (session ? sameOnDevice(session, prop, value, now) : valuesEqual(prop.model.type, now, value));
      if (there) {
        this.done.set(name, key);
        this.opts.reporter.offer(name, { value: now }, true);
        this.opts.reporter.outcome(name, { value, version: w.version, status: 'applied' });
        await this.opts.reporter.flush([name]);
        continue;
      }
      if (!session) {
        this.waiting.set(name, w);
        logger.info(
          { property: name },
          `device ${device.id} is not connected; ${name}=${String(w.raw)} is written once it is`,
        );
        continue;
      }
      await this.writeOne(session, prop, value, w, key);
    }
  }

  private async writeOne(
    session: DeviceSession<unknown>,
    prop: MapperProperty<unknown>,
    value: TwinValue,
    w: Wanted,
    key: string,
  ): Promise<void> {
    const { device, logger, reporter } = this.opts;
    let outcome;
    try {
      outcome = await writeUntilApplied({
        deviceId: device.id,
        session,
        property: prop,
        value,
        readBack: async () => (await this.opts.readOne(prop))?.get(prop.name),
        clock: this.opts.clock,
        callTimeoutMs: this.opts.callTimeoutMs,
        signal: this.opts.signal,
        ...(this.opts.maxWriteAttempts !== undefined ? { maxAttempts: this.opts.maxWriteAttempts } : {}),
        ...(this.opts.writeRetryDelayMs !== undefined ? { retryDelayMs: this.opts.writeRetryDelayMs } : {}),
      });
    } catch (err) {
      if (this.opts.signal.aborted) return; // the session ended: written again when it is back
      throw err;
    }
    this.done.set(prop.name, key);
    if (outcome.status === 'applied' && outcome.reading) {
      this.current.set(prop.name, outcome.reading.value);
      logger.info(
        { property: prop.name, writes: outcome.writes },
        `wrote ${prop.name}=${String(value)} to device ${device.id}; it reads back ${String(outcome.reading.value)}`,
      );
      reporter.offer(prop.name, outcome.reading, true);
      reporter.outcome(prop.name, { value, version: w.version, status: 'applied' });
      await reporter.flush([prop.name]);
      return;
    }
    await this.fail(
      prop,
      w,
      outcome.code ?? 'ET_INTERNAL',
      `writing ${prop.name}=${String(value)} to device ${device.id} failed after ${outcome.writes} write(s): ${outcome.reason ?? 'unknown'}`,
    );
  }

  private async fail(prop: MapperProperty<unknown>, w: Wanted, code: string, msg: string): Promise<void> {
    this.opts.logger.warn({ property: prop.name, code }, msg);
    this.opts.onProblem(msg);
    const value =
      typeof w.raw === 'number' || typeof w.raw === 'boolean' || typeof w.raw === 'string' ? w.raw : String(w.raw);
    this.opts.reporter.outcome(prop.name, {
      value,
      version: w.version,
      status: 'failed',
      code,
      reason: clip(msg, WRITE_REASON_MAX),
    });
    await this.opts.reporter.flush([prop.name]);
  }
}
